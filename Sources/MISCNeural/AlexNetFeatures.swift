/// torchvision AlexNet's convolutional stack (`features`) up to its last ReLU: the five activations LPIPS
/// compares. Loads `features.{0,3,6,8,10}.{weight,bias}` of torchvision's state dict.
public struct AlexNetFeatures: Sendable {
  /// Output channels of the five convolutions in torchvision's AlexNet.
  public static let standardWidths = [64, 192, 384, 256, 256]
  /// The indices of the convolutions in torchvision's `features`.
  public static let convolutionIndices = [0, 3, 6, 8, 10]
  /// The smallest height and width the stack accepts (the second max pooling needs 3 rows).
  public static let minimumSide = 31

  public let convolutions: [Conv2d]

  /// `widths` other than the standard ones build the same architecture narrower (for tests).
  public init(weights: any TensorSource, widths: [Int] = standardWidths) throws {
    precondition(widths.count == 5, "AlexNet has five convolutions, got widths \(widths)")
    let inputs = [3] + widths.dropLast()
    let (kernels, strides, paddings) = ([11, 5, 3, 3, 3], [4, 1, 1, 1, 1], [2, 2, 1, 1, 1])
    convolutions = try (0..<5).map { i in
      try Conv2d(weights: weights, prefix: "features.\(Self.convolutionIndices[i])", inputs: inputs[i], outputs: widths[i],
                 kernel: kernels[i], stride: strides[i], padding: paddings[i])
    }
  }

  /// The names and shapes of the weights this stack reads.
  public static func weightShapes(widths: [Int] = standardWidths) -> [String: [Int]] {
    let inputs = [3] + widths.dropLast()
    let kernels = [11, 5, 3, 3, 3]
    var shapes: [String: [Int]] = [:]
    for i in 0..<5 {
      shapes["features.\(convolutionIndices[i]).weight"] = [widths[i], inputs[i], kernels[i], kernels[i]]
      shapes["features.\(convolutionIndices[i]).bias"] = [widths[i]]
    }
    return shapes
  }

  /// [3, H, W] -> relu1 … relu5: [[64, H1, W1], [192, H2, W2], [384, H3, W3], [256, H3, W3], [256, H3, W3]]
  /// with H1 = ⌊(H−7)/4⌋+1, H2 = ⌊(H1−3)/2⌋+1, H3 = ⌊(H2−3)/2⌋+1.
  public func activations(_ x: Tensor) -> [Tensor] {
    precondition(x.rank == 3 && x.shape[0] == 3 && x.shape[1] >= Self.minimumSide && x.shape[2] >= Self.minimumSide,
                 "AlexNet features of \(x.shape); expected [3, H, W] with H, W ≥ \(Self.minimumSide)")
    let pool = MaxPool2d(kernel: 3, stride: 2)
    var outputs: [Tensor] = []
    var h = x
    for (i, conv) in convolutions.enumerated() {
      if i == 1 || i == 2 { h = pool(h) }
      h = conv(h)
      ReLU.apply(&h)
      outputs.append(h)
    }
    return outputs
  }
}
