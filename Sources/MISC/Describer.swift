import MISCImage

/// The LMM encoder seam: an image in, its semantics (overview and items) out.
public protocol Describer: Sendable {
  func describe(_ image: Image) async throws -> Semantics
}
