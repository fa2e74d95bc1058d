import MISCImage

/// Builds the metrics a run asked for, loading only the weights those need.
public enum MetricRegistry {
  /// One metric object for `id`. Weight-free metrics never touch `models`.
  public static func make(_ id: MetricID, models: MetricModels) throws -> any QualityMetric {
    switch id {
    case .psnr: PSNRMetric()
    // Weight-free metrics (SSIM, MS-SSIM, NIQE).
    case .ssim: SSIMMetric()
    case .msssim: MSSSIMMetric()
    case .niqe: NIQEMetric(model: try NIQEModel.locate(models: models))

    // Network metrics: LPIPS and DISTS (AlexNet, VGG16).
    case .lpips: try LPIPS(network: .alex, models: models)
    case .lpipsVGG: try LPIPS(network: .vgg, models: models)
    case .dists: try DISTS(models: models)

    // Network metrics: CLIP (ClipSIM on the locator's ViT, CLIP-IQA on RN50).
    case .clipsim: try ClipSIM(models: models)
    case .clipiqa: try CLIPIQA(models: models)
    }
  }

  /// Every metric of `ids`, in that order.
  public static func make(_ ids: [MetricID], models: MetricModels) throws -> [any QualityMetric] {
    try ids.map { try make($0, models: models) }
  }
}

/// PSNR over 8-bit RGB (CompressAI's convention: the same as on [0, 1] samples with data range 1).
public struct PSNRMetric: FullReferenceMetric {
  public init() {}
  public var id: MetricID { .psnr }
  public var modelID: String? { nil }
  public var minimumSide: Int { 1 }
  public func score(reference: Image, distorted: Image) throws -> Double { PSNR.psnr(reference, distorted) }
}
