/// Seeded random weights scaled by each tensor's fan-in (He uniform): rank-4 convolution kernels are uniform
/// in ±√(6 / fan-in), everything else in ±`otherScale`.
///
/// Unlike one fixed scale, this keeps activations alive through a deep stack such as VGG16, so a parity test
/// on random weights still depends on its input. Each tensor equals `RandomTensors` with that tensor's scale
/// (the same SplitMix64 stream per name), which a fixture script reproduces in numpy.
public struct FanInRandomTensors: TensorSource {
  public let shapes: [String: [Int]]
  public let seed: UInt64
  public let otherScale: Float

  public init(shapes: [String: [Int]], seed: UInt64 = 0x5EED, otherScale: Float = 0.1) {
    self.shapes = shapes
    self.seed = seed
    self.otherScale = otherScale
  }

  public var sourceDescription: String { "fan-in scaled random weights" }
  public var tensorNames: [String] { shapes.keys.sorted() }
  public func shape(of name: String) -> [Int]? { shapes[name] }

  /// The uniform bound used for a tensor of `shape`.
  public func scale(for shape: [Int]) -> Float {
    guard shape.count == 4 else { return otherScale }
    return Float((6.0 / Double(shape[1] * shape[2] * shape[3])).squareRoot())
  }

  public func tensor(_ name: String) throws -> Tensor {
    guard let shape = shapes[name] else { throw TensorSourceError.missingTensor(name: name, source: sourceDescription) }
    return try RandomTensors(shapes: [name: shape], seed: seed, scale: scale(for: shape)).tensor(name)
  }
}
