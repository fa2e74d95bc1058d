/// torchvision VGG16's convolutional stack (`features`) up to relu5_3: the five stage outputs relu1_2,
/// relu2_2, relu3_3, relu4_3 and relu5_3 that LPIPS and DISTS compare.
///
/// Loads `features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}`. Between stages it downsamples with
/// VGG's 2x2 max pooling (LPIPS) or DISTS's L2 pooling.
public struct VGG16Features: Sendable {
  /// How a stage's output is halved before the next stage.
  public enum Downsampling: Sendable, Hashable {
    /// `nn.MaxPool2d(2, 2)`, as VGG16 has it. Sides ≥ 16.
    case maxPool
    /// DISTS's `L2pooling` (`L2Pool2d`). Any side.
    case l2Pool
  }

  /// Output channels of the five stages in torchvision's VGG16.
  public static let standardWidths = [64, 128, 256, 512, 512]
  /// Convolutions (each followed by a ReLU) per stage.
  public static let convolutionsPerStage = [2, 2, 3, 3, 3]

  /// The convolutions of each stage.
  public let stages: [[Conv2d]]
  public let downsampling: Downsampling

  /// `widths` other than the standard ones build the same architecture narrower (for tests).
  public init(weights: any TensorSource, widths: [Int] = standardWidths, downsampling: Downsampling = .maxPool) throws {
    precondition(widths.count == 5, "VGG16 has five stages, got widths \(widths)")
    var stages: [[Conv2d]] = []
    var inputs = 3
    for (s, (index, _)) in Self.layout(widths: widths).enumerated() {
      var stage: [Conv2d] = []
      for i in index {
        stage.append(try Conv2d(weights: weights, prefix: "features.\(i)", inputs: inputs, outputs: widths[s], kernel: 3, padding: 1))
        inputs = widths[s]
      }
      stages.append(stage)
    }
    self.stages = stages
    self.downsampling = downsampling
  }

  /// Each stage's convolution indices in torchvision's `features` and its width.
  static func layout(widths: [Int]) -> [(indices: [Int], width: Int)] {
    var index = 0
    return zip(convolutionsPerStage, widths).map { count, width in
      let indices = (0..<count).map { index + 2 * $0 }
      index += 2 * count + 1  // conv, relu per convolution, then the pooling
      return (indices, width)
    }
  }

  /// The names and shapes of the weights this stack reads.
  public static func weightShapes(widths: [Int] = standardWidths) -> [String: [Int]] {
    var shapes: [String: [Int]] = [:]
    var inputs = 3
    for (indices, width) in layout(widths: widths) {
      for i in indices {
        shapes["features.\(i).weight"] = [width, inputs, 3, 3]
        shapes["features.\(i).bias"] = [width]
        inputs = width
      }
    }
    return shapes
  }

  /// [3, H, W] -> relu1_2 … relu5_3: [[64, H, W], [128, H/2, W/2], …, [512, H/16, W/16]] (halving rounds
  /// down for max pooling, up for L2 pooling).
  public func activations(_ x: Tensor) -> [Tensor] {
    precondition(x.rank == 3 && x.shape[0] == 3, "VGG16 features of \(x.shape); expected [3, H, W]")
    precondition(downsampling == .l2Pool || (x.shape[1] >= 16 && x.shape[2] >= 16),
                 "VGG16 features of a \(x.shape[1])x\(x.shape[2]) input; max pooling needs sides of at least 16")
    let maxPool = MaxPool2d(kernel: 2, stride: 2)
    let l2Pool = L2Pool2d()
    var outputs: [Tensor] = []
    var h = x
    for (s, stage) in stages.enumerated() {
      if s > 0 { h = downsampling == .maxPool ? maxPool(h) : l2Pool(h) }
      for conv in stage {
        h = conv(h)
        ReLU.apply(&h)
      }
      outputs.append(h)
    }
    return outputs
  }
}
