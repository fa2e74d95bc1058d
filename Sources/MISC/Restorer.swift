import MISCImage

/// One guided diffusion pass (DiffBIR-style): condition image and text in, image out.
public struct RestorePass: Sendable, Hashable {
  public enum Kind: Sendable, Hashable {
    /// The pass for item `index` (eq. 7), kept only inside its map.
    case item(index: Int)
    /// The final pass guided by the overview and the aesthetic words (eq. 8).
    case final
  }

  public var kind: Kind
  public var prompt: String
  public var negativePrompt: String
  public var steps: Int
  /// Classifier-free guidance scale.
  public var guidanceScale: Double
  /// How far from the condition the pass starts: 1.0 starts from noise.
  public var strength: Double
  /// The pass's noise seed, derived from the file's seed.
  public var seed: UInt32
  /// Take low frequencies from the condition image (the wavelet colour fix).
  public var colorFix: Bool

  public init(kind: Kind, prompt: String, negativePrompt: String = "", steps: Int, guidanceScale: Double,
              strength: Double = 1.0, seed: UInt32, colorFix: Bool = false) {
    self.kind = kind
    self.prompt = prompt
    self.negativePrompt = negativePrompt
    self.steps = steps
    self.guidanceScale = guidanceScale
    self.strength = strength
    self.seed = seed
    self.colorFix = colorFix
  }
}

/// The decoder seam: runs one restoration pass. The result has the condition's size.
public protocol Restorer: Sendable {
  /// A one-line description for progress and notices, e.g. "bicubic (no diffusion model)".
  var name: String { get }
  func restore(_ condition: Image, _ pass: RestorePass) async throws -> Image
}
