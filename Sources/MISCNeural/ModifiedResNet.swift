import Foundation

/// CLIP's ResNet image tower (OpenAI's `ModifiedResNet`, RN50 and its kin): a stem of three 3x3
/// convolutions (the first with stride 2) and a 2x2 average pool, four stages of `Bottleneck` blocks
/// (stages 2–4 halve the resolution by average pooling), and the `AttentionPool2d` that gives the embedding.
///
/// Batch norms are folded into their convolutions at load time. It takes an image of any size whose sides
/// keep at least one position through the 32x reduction (`minimumSide`), as pyiqa's CLIP-IQA feeds it.
public struct ModifiedResNet: Sendable {
  public let configuration: Configuration
  /// conv1 (3 -> width/2, stride 2), conv2 (width/2 -> width/2), conv3 (width/2 -> width), batch norms folded.
  public let stem: [Conv2d]
  public let stemPool: AvgPool2d
  /// layer1...layer4.
  public let stages: [[Bottleneck]]
  public let attentionPool: AttentionPool2d

  /// Loads `<prefix>.conv1…3`, `.bn1…3`, `.layer1…4.*` and `.attnpool.*` under OpenAI's names.
  public init(configuration: Configuration, weights: any TensorSource, prefix: String = "visual") throws {
    try configuration.validate()
    self.configuration = configuration
    let width = configuration.width
    let channels = [(3, width / 2), (width / 2, width / 2), (width / 2, width)]
    stem = try channels.enumerated().map { index, io in
      let conv = try Conv2d(weights: weights, prefix: "\(prefix).conv\(index + 1)", inputs: io.0, outputs: io.1, kernel: 3,
                            stride: index == 0 ? 2 : 1, padding: 1, bias: false)
      return conv.folding(try BatchNorm2d(weights: weights, prefix: "\(prefix).bn\(index + 1)", channels: io.1))
    }
    stemPool = AvgPool2d(kernel: 2)
    var inputs = width
    var stages: [[Bottleneck]] = []
    for (stage, blocks) in configuration.layers.enumerated() {
      let planes = width << stage
      stages.append(try (0..<blocks).map { block in
        let unit = try Bottleneck(weights: weights, prefix: "\(prefix).layer\(stage + 1).\(block)", inputs: inputs, planes: planes,
                                  stride: block == 0 && stage > 0 ? 2 : 1)
        inputs = unit.outputs
        return unit
      })
    }
    self.stages = stages
    attentionPool = try AttentionPool2d(weights: weights, prefix: "\(prefix).attnpool", grid: configuration.grid,
                                        channels: configuration.embeddingChannels, heads: configuration.heads,
                                        outputs: configuration.outputDimension)
  }

  /// The smallest side whose feature map keeps one position after the stem's stride-2 convolution and
  /// the four halvings: 31.
  public static let minimumSide = 31

  /// The stem's output and each stage's. [3, height, width] -> [stem, layer1, layer2, layer3, layer4]
  public func features(_ pixels: Tensor) -> [Tensor] {
    precondition(pixels.rank == 3 && pixels.shape[0] == 3, "the ResNet tower takes [3, height, width], got \(pixels.shape)")
    precondition(pixels.shape[1] >= Self.minimumSide && pixels.shape[2] >= Self.minimumSide,
                 "the ResNet tower needs sides of at least \(Self.minimumSide), got \(pixels.shape)")
    var x = pixels
    for conv in stem {
      x = conv(x)
      ReLU.apply(&x)
    }
    x = stemPool(x)
    var outputs = [x]
    for stage in stages {
      for block in stage { x = block(x) }
      outputs.append(x)
    }
    return outputs
  }

  /// The image embedding (not normalised). [3, height, width] -> [output]
  public func callAsFunction(_ pixels: Tensor, positions: AttentionPool2d.Positions) -> Tensor {
    attentionPool(features(pixels).last!, positions: positions)
  }
}
