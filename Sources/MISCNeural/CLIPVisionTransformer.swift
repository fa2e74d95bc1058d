/// CLIP's image tower: patch embedding, class token, positions, pre-norm, the blocks, then
/// `post_layernorm` and `visual_projection` (applied here to every token, not only the class token).
public struct CLIPVisionTransformer: Sendable {
  public let configuration: CLIPConfiguration.Vision
  public let patchEmbedding: PatchEmbedding
  /// [width]
  public let classEmbedding: Tensor
  /// [tokens, width]
  public let positionEmbedding: Tensor
  public let preLayerNorm: LayerNorm
  public let layers: [CLIPEncoderLayer]
  public let postLayerNorm: LayerNorm
  /// weight [projection, width], no bias.
  public let projection: Linear

  /// Loads the `vision_model.*` and `visual_projection` tensors of a Hugging Face CLIP checkpoint.
  public init(configuration: CLIPConfiguration.Vision, projectionDimension: Int, weights: any TensorSource) throws {
    self.configuration = configuration
    let (c, p, channels) = (configuration.width, configuration.patchSize, configuration.channels)
    let kernel = try weights.tensor("vision_model.embeddings.patch_embedding.weight", shape: [c, channels, p, p])
    patchEmbedding = PatchEmbedding(weight: kernel.reshaped([c, channels * p * p]), channels: channels, patch: p)
    classEmbedding = try weights.tensor("vision_model.embeddings.class_embedding", shape: [c])
    positionEmbedding = try weights.tensor("vision_model.embeddings.position_embedding.weight", shape: [configuration.tokens, c])
    let epsilon = configuration.layerNormEpsilon
    // "pre_layrnorm" is Hugging Face's spelling.
    preLayerNorm = try LayerNorm(weights: weights, prefix: "vision_model.pre_layrnorm", width: c, epsilon: epsilon)
    layers = try (0..<configuration.layers).map {
      try CLIPEncoderLayer(weights: weights, prefix: "vision_model.encoder.layers.\($0)", width: c,
                           intermediate: configuration.intermediateSize, heads: configuration.heads,
                           activation: configuration.activation, epsilon: epsilon)
    }
    postLayerNorm = try LayerNorm(weights: weights, prefix: "vision_model.post_layernorm", width: c, epsilon: epsilon)
    projection = Linear(weight: try weights.tensor("visual_projection.weight", shape: [projectionDimension, c]), bias: nil)
  }

  /// Class token, patch embeddings and positions, after `pre_layrnorm`.
  /// [channels, size, size] -> [tokens, width]
  public func embed(_ pixels: Tensor) -> Tensor {
    let size = configuration.imageSize
    precondition(pixels.shape == [configuration.channels, size, size], "the image tower takes [\(configuration.channels), \(size), \(size)], got \(pixels.shape)")
    let patches = patchEmbedding(pixels)
    var x = Tensor.concatenatingRows([classEmbedding.reshaped([1, configuration.width]), patches])
    x += positionEmbedding
    return preLayerNorm(x)
  }

  /// The last hidden state. [channels, size, size] -> [tokens, width]
  public func hiddenStates(_ pixels: Tensor) -> Tensor {
    var x = embed(pixels)
    for layer in layers { x = layer(x) }
    return x
  }

  /// The last hidden states of several images in one pass: their tokens packed row after row,
  /// each image attending only to its own, so every matrix product runs on all of them at once.
  /// Returns the packed states [images × tokens, width] and each image's rows.
  public func hiddenStates(packing images: [Tensor]) -> (states: Tensor, sequences: [Range<Int>]) {
    let embedded = images.map(embed)
    var sequences: [Range<Int>] = []
    for tokens in embedded.map({ $0.shape[0] }) {
      let start = sequences.last?.upperBound ?? 0
      sequences.append(start..<(start + tokens))
    }
    var x = Tensor.concatenatingRows(embedded)
    for layer in layers { x = layer(x, sequences: sequences) }
    return (x, sequences)
  }

  /// Per-token features and the pooled embedding (the class token's row).
  public func callAsFunction(_ pixels: Tensor) -> CLIPImageFeatures {
    let tokens = projection(postLayerNorm(hiddenStates(pixels)))
    return CLIPImageFeatures(tokens: tokens)
  }

  /// CLIP Surgery's architecture surgery: on the last `blocks` blocks a v-v attention path runs beside
  /// the original one, sharing its projections (both read `ln_1` of the original path), without MLP and
  /// accumulating separately from the input of the first such block. The class token comes from the
  /// original path; `post_layernorm` and the projection apply to all tokens.
  /// [channels, size, size] -> [tokens, projection]
  public func surgeryFeatures(_ pixels: Tensor, blocks: Int) -> Tensor {
    precondition(blocks >= 1 && blocks <= layers.count, "surgery on \(blocks) of \(layers.count) blocks")
    var x = embed(pixels)
    var surgery: Tensor?
    for (index, layer) in layers.enumerated() {
      if index < layers.count - blocks {
        x = layer(x)
        continue
      }
      let (original, valueValue) = layer.attention.dualPath(layer.layerNorm1(x))
      surgery = (surgery ?? x) + valueValue
      x += original
      x += layer.mlp(layer.layerNorm2(x))
    }
    var tokens = surgery!
    let width = configuration.width
    tokens.scalars.replaceSubrange(0..<width, with: x.scalars[0..<width])
    return projection(postLayerNorm(tokens))
  }
}

/// The image tower's output.
public struct CLIPImageFeatures: Sendable {
  /// Every token after `post_layernorm` and the projection, class token first. [tokens, projection]
  public var tokens: Tensor
  /// CLIP's image embedding: the class token's row (not normalised). [projection]
  public var pooled: Tensor { tokens.row(0) }
}
