/// Batch normalisation in inference mode (`nn.BatchNorm2d` with running statistics), on [channels, height, width].
///
/// Models fold it into the convolution before it (`Conv2d.folding(_:)`) at load time; applying it on its
/// own is for tests and for a norm that follows no convolution.
public struct BatchNorm2d: Sendable {
  /// γ, [channels]
  public let weight: Tensor
  /// β, [channels]
  public let bias: Tensor
  /// [channels]
  public let runningMean: Tensor
  /// [channels]
  public let runningVariance: Tensor
  public let epsilon: Float

  public init(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float = 1e-5) {
    precondition(weight.rank == 1 && [bias, runningMean, runningVariance].allSatisfy { $0.shape == weight.shape },
                 "batch norm weight \(weight.shape), bias \(bias.shape), mean \(runningMean.shape), variance \(runningVariance.shape)")
    self.weight = weight
    self.bias = bias
    self.runningMean = runningMean
    self.runningVariance = runningVariance
    self.epsilon = epsilon
  }

  /// Loads `<prefix>.weight`, `.bias`, `.running_mean` and `.running_var`, each [channels].
  public init(weights: any TensorSource, prefix: String, channels: Int, epsilon: Float = 1e-5) throws {
    self.init(weight: try weights.tensor("\(prefix).weight", shape: [channels]),
              bias: try weights.tensor("\(prefix).bias", shape: [channels]),
              runningMean: try weights.tensor("\(prefix).running_mean", shape: [channels]),
              runningVariance: try weights.tensor("\(prefix).running_var", shape: [channels]),
              epsilon: epsilon)
  }

  public var channels: Int { weight.count }

  /// [channels, height, width] -> [channels, height, width]
  public func callAsFunction(_ x: Tensor) -> Tensor {
    precondition(x.rank == 3 && x.shape[0] == channels, "batch norm over \(channels) channels applied to \(x.shape)")
    let plane = x.shape[1] * x.shape[2]
    var y = x
    y.scalars.withUnsafeMutableBufferPointer { values in
      for c in 0..<channels {
        let scale = weight.scalars[c] / (runningVariance.scalars[c] + epsilon).squareRoot()
        let shift = bias.scalars[c] - runningMean.scalars[c] * scale
        for i in c * plane..<(c + 1) * plane { values[i] = values[i] * scale + shift }
      }
    }
    return y
  }
}
