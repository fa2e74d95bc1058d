/// The rectifier `max(x, 0)`, applied elementwise (`nn.ReLU`); in place where the caller owns the tensor.
public struct ReLU: Sendable {
  public init() {}

  /// Replaces every negative scalar by zero, in place.
  public static func apply(_ x: inout Tensor) {
    x.scalars.withUnsafeMutableBufferPointer { values in
      for i in values.indices { values[i] = max(values[i], 0) }
    }
  }

  /// [..] -> [..]
  public func callAsFunction(_ x: Tensor) -> Tensor {
    var y = x
    ReLU.apply(&y)
    return y
  }
}
