import MISCImage

/// The embedded restorer: no diffusion model, so no hallucinated detail. Every pass returns
/// its condition unchanged, and the decode is exactly the bicubic-upsampled thumbnail.
public struct BicubicRestorer: Restorer {
  public init() {}
  public var name: String { "bicubic (embedded; no diffusion model)" }

  public func restore(_ condition: Image, _ pass: RestorePass) async throws -> Image {
    condition
  }
}
