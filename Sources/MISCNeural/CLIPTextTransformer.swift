/// CLIP's text tower: token and position embeddings, causal blocks, `final_layer_norm`, and
/// `text_projection` at the end-of-text token.
public struct CLIPTextTransformer: Sendable {
  public let configuration: CLIPConfiguration.Text
  /// [vocabulary, width]
  public let tokenEmbedding: Tensor
  /// [positions, width]
  public let positionEmbedding: Tensor
  public let layers: [CLIPEncoderLayer]
  public let finalLayerNorm: LayerNorm
  /// weight [projection, width], no bias.
  public let projection: Linear

  /// Loads the `text_model.*` and `text_projection` tensors of a Hugging Face CLIP checkpoint.
  public init(configuration: CLIPConfiguration.Text, projectionDimension: Int, weights: any TensorSource) throws {
    self.configuration = configuration
    let c = configuration.width
    tokenEmbedding = try weights.tensor("text_model.embeddings.token_embedding.weight", shape: [configuration.vocabularySize, c])
    positionEmbedding = try weights.tensor("text_model.embeddings.position_embedding.weight", shape: [configuration.maxPositions, c])
    layers = try (0..<configuration.layers).map {
      try CLIPEncoderLayer(weights: weights, prefix: "text_model.encoder.layers.\($0)", width: c,
                           intermediate: configuration.intermediateSize, heads: configuration.heads,
                           activation: configuration.activation, epsilon: configuration.layerNormEpsilon)
    }
    finalLayerNorm = try LayerNorm(weights: weights, prefix: "text_model.final_layer_norm", width: c,
                                   epsilon: configuration.layerNormEpsilon)
    projection = Linear(weight: try weights.tensor("text_projection.weight", shape: [projectionDimension, c]), bias: nil)
  }

  /// The pooled, projected embedding of each id sequence (`get_text_features`), not normalised.
  ///
  /// Sequences may differ in length and need no padding: they are packed into one matrix for the
  /// projections and attend only within themselves, causally, so the result equals that of the
  /// padded batch. The pooled token is the argmax of the ids when `eos_token_id` is 2 (the original
  /// OpenAI configs), else the first end-of-text id, exactly as transformers picks it.
  /// [[ids]] -> [sequences, projection]
  public func callAsFunction(_ sequences: [[Int]]) throws -> Tensor {
    let c = configuration.width
    var ranges: [Range<Int>] = []
    var total = 0
    for ids in sequences {
      guard !ids.isEmpty, ids.count <= configuration.maxPositions else {
        throw CLIPError.badTokens(reason: "a sequence of \(ids.count) tokens; the tower takes 1...\(configuration.maxPositions)")
      }
      if let bad = ids.first(where: { $0 < 0 || $0 >= configuration.vocabularySize }) {
        throw CLIPError.badTokens(reason: "id \(bad) is outside the vocabulary of \(configuration.vocabularySize)")
      }
      ranges.append(total..<(total + ids.count))
      total += ids.count
    }
    guard total > 0 else { return Tensor(zeros: [0, projection.outputs]) }
    var x = Tensor(shape: [total, c]) { out in
      tokenEmbedding.scalars.withUnsafeBufferPointer { tokens in
        positionEmbedding.scalars.withUnsafeBufferPointer { positions in
          var row = 0
          for ids in sequences {
            for (position, id) in ids.enumerated() {
              let dst = out.baseAddress! + row * c
              for i in 0..<c { dst[i] = tokens[id * c + i] + positions[position * c + i] }
              row += 1
            }
          }
        }
      }
    }
    for layer in layers { x = layer(x, sequences: ranges, causal: true) }
    let pooled = Tensor(shape: [sequences.count, c]) { out in
      x.scalars.withUnsafeBufferPointer { states in
        for (j, (ids, range)) in zip(sequences, ranges).enumerated() {
          (out.baseAddress! + j * c).initialize(from: states.baseAddress! + (range.lowerBound + poolingIndex(ids)) * c, count: c)
        }
      }
    }
    return projection(finalLayerNorm(pooled))
  }

  /// The position whose state becomes the text embedding.
  public func poolingIndex(_ ids: [Int]) -> Int {
    if configuration.eosTokenID == 2 {
      var best = 0
      for (index, id) in ids.enumerated() where id > ids[best] { best = index }
      return best
    }
    return ids.firstIndex(of: configuration.eosTokenID) ?? 0
  }
}
