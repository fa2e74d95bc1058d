/// Layer normalisation over the last axis with a learned scale and shift (`nn.LayerNorm`).
public struct LayerNorm: Sendable {
  /// [features]
  public let weight: Tensor
  /// [features]
  public let bias: Tensor
  public let epsilon: Float

  public init(weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) {
    precondition(weight.rank == 1 && bias.shape == weight.shape, "layer norm weight \(weight.shape) and bias \(bias.shape)")
    self.weight = weight
    self.bias = bias
    self.epsilon = epsilon
  }

  /// [tokens, features] -> [tokens, features]
  public func callAsFunction(_ x: Tensor) -> Tensor {
    let features = weight.count
    precondition(x.rank == 2 && x.columns == features, "layer norm over \(features) applied to \(x.shape)")
    let tokens = x.rows
    return Tensor(shape: x.shape) { out in
      x.scalars.withUnsafeBufferPointer { src in
        weight.scalars.withUnsafeBufferPointer { w in
          bias.scalars.withUnsafeBufferPointer { b in
            for t in 0..<tokens {
              let row = src.baseAddress! + t * features
              let mean = VectorMath.sum(row, count: features) / Float(features)
              let squares = VectorMath.sumOfSquares(row, count: features, center: mean)
              let inverse = 1 / (squares / Float(features) + epsilon).squareRoot()
              let dst = out.baseAddress! + t * features
              for i in 0..<features { dst[i] = (row[i] - mean) * inverse * w[i] + b[i] }
            }
          }
        }
      }
    }
  }
}
