/// Where a model's named weights come from: a safetensors file, or generated tensors for benchmarks.
public protocol TensorSource: Sendable {
  /// The source as a user knows it (a file path), for error messages.
  var sourceDescription: String { get }
  /// The names it holds.
  var tensorNames: [String] { get }
  /// The tensor named `name` as Float32, or `TensorSourceError.missingTensor`.
  func tensor(_ name: String) throws -> Tensor
  /// The shape of `name` without reading its data, or nil when absent.
  func shape(of name: String) -> [Int]?
}

extension TensorSource {
  /// The tensor named `name`, which must have exactly `shape`.
  public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
    guard let found = self.shape(of: name) else {
      throw TensorSourceError.missingTensor(name: name, source: sourceDescription)
    }
    guard found == shape else {
      throw TensorSourceError.wrongShape(name: name, source: sourceDescription, expected: shape, found: found)
    }
    return try tensor(name)
  }
}

/// A model's weights do not match what the model needs.
public enum TensorSourceError: Error, CustomStringConvertible, Sendable, Equatable {
  case missingTensor(name: String, source: String)
  case wrongShape(name: String, source: String, expected: [Int], found: [Int])
  case unsupportedDType(name: String, source: String, dtype: String)

  public var description: String {
    switch self {
    case let .missingTensor(name, source):
      return "\(source): no tensor named '\(name)'"
    case let .wrongShape(name, source, expected, found):
      return "\(source): tensor '\(name)' has shape \(found), expected \(expected)"
    case let .unsupportedDType(name, source, dtype):
      return "\(source): tensor '\(name)' is \(dtype); only F32, F16, BF16 and F64 can be read as weights"
    }
  }
}

/// Seeded pseudo-random weights of given shapes: for timing a model at its real size without its file.
public struct RandomTensors: TensorSource {
  public let shapes: [String: [Int]]
  public let seed: UInt64
  /// Values are uniform in [-scale, scale].
  public let scale: Float

  public init(shapes: [String: [Int]], seed: UInt64 = 0x5EED, scale: Float = 0.02) {
    self.shapes = shapes
    self.seed = seed
    self.scale = scale
  }

  public var sourceDescription: String { "random weights" }
  public var tensorNames: [String] { shapes.keys.sorted() }
  public func shape(of name: String) -> [Int]? { shapes[name] }

  public func tensor(_ name: String) throws -> Tensor {
    guard let shape = shapes[name] else { throw TensorSourceError.missingTensor(name: name, source: sourceDescription) }
    // SplitMix64 seeded by the name, so each tensor is the same whatever order they are read in.
    var state = seed ^ name.utf8.reduce(UInt64(0xcbf29ce484222325)) { ($0 ^ UInt64($1)) &* 0x100000001b3 }
    let scale = self.scale
    return Tensor(shape: shape) { out in
      for i in out.indices {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        z ^= z >> 31
        out[i] = (Float(z >> 40) / Float(1 << 24) * 2 - 1) * scale
      }
    }
  }
}
