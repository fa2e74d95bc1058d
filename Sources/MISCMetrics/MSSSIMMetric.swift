import MISCImage

/// MS-SSIM over RGB in [0, 1] (`pytorch_msssim.ms_ssim`, data range 1, five scales).
public struct MSSSIMMetric: FullReferenceMetric {
  public init() {}
  public var id: MetricID { .msssim }
  public var modelID: String? { nil }
  public var minimumSide: Int { SSIM.multiScaleMinimumSide }
  public func score(reference: Image, distorted: Image) throws -> Double { SSIM.multiScale(reference, distorted) }
}
