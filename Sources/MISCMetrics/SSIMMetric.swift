import MISCImage

/// SSIM over RGB in [0, 1] (`pytorch_msssim.ssim`, data range 1, mean of the three channels).
public struct SSIMMetric: FullReferenceMetric {
  public init() {}
  public var id: MetricID { .ssim }
  public var modelID: String? { nil }
  public var minimumSide: Int { SSIM.windowSize }
  public func score(reference: Image, distorted: Image) throws -> Double { SSIM.ssim(reference, distorted) }
}
