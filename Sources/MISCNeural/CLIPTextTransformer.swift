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
    try encode(sequences).embeddings
  }

  /// The per-layer q, k, v projections of every token of a run: a later run whose sequences begin as
  /// these do reuses them instead of recomputing the shared first tokens (the tower is causal, so a
  /// token's states depend only on the tokens before it).
  public struct States: Sendable {
    /// The sequences encoded.
    public let sequences: [[Int]]
    /// Each sequence's rows in `layers`.
    public let ranges: [Range<Int>]
    /// Per block: [tokens, 3 * width]
    public let layers: [Tensor]
  }

  /// Like `callAsFunction`, but sequence j may continue `states.sequences[continuing[j]]`: the ids
  /// they share at the start (short of the pooled token) are taken from `states` rather than computed.
  /// With `keepingStates` (and nothing continued) it also returns this run's states.
  /// [[ids]] -> ([sequences, projection], states)
  public func encode(_ sequences: [[Int]], continuing: (states: States, indices: [Int?])? = nil,
                     keepingStates: Bool = false) throws -> (embeddings: Tensor, states: States?) {
    precondition(continuing == nil || continuing!.indices.count == sequences.count, "one continued sequence (or nil) per sequence")
    precondition(!(keepingStates && continuing != nil), "states are kept only from a run that continues nothing")
    let c = configuration.width
    var ranges: [Range<Int>] = []
    var prefixRanges: [Range<Int>] = []
    var skipped: [Int] = []
    var total = 0
    for (j, ids) in sequences.enumerated() {
      guard !ids.isEmpty, ids.count <= configuration.maxPositions else {
        throw CLIPError.badTokens(reason: "a sequence of \(ids.count) tokens; the tower takes 1...\(configuration.maxPositions)")
      }
      if let bad = ids.first(where: { $0 < 0 || $0 >= configuration.vocabularySize }) {
        throw CLIPError.badTokens(reason: "id \(bad) is outside the vocabulary of \(configuration.vocabularySize)")
      }
      var shared = 0
      var prefix = 0..<0
      if let (states, indices) = continuing, let k = indices[j] {
        let earlier = states.sequences[k]
        let limit = min(earlier.count, poolingIndex(ids))
        while shared < limit && earlier[shared] == ids[shared] { shared += 1 }
        prefix = states.ranges[k].lowerBound..<(states.ranges[k].lowerBound + shared)
      }
      skipped.append(shared)
      prefixRanges.append(prefix)
      ranges.append(total..<(total + ids.count - shared))
      total += ids.count - shared
    }
    guard total > 0 else { return (Tensor(zeros: [0, projection.outputs]), nil) }
    var x = Tensor(shape: [total, c]) { out in
      tokenEmbedding.scalars.withUnsafeBufferPointer { tokens in
        positionEmbedding.scalars.withUnsafeBufferPointer { positions in
          var row = 0
          for (ids, first) in zip(sequences, skipped) {
            for position in first..<ids.count {
              let (dst, id) = (out.baseAddress! + row * c, ids[position])
              for i in 0..<c { dst[i] = tokens[id * c + i] + positions[position * c + i] }
              row += 1
            }
          }
        }
      }
    }
    var kept: [Tensor] = []
    for (index, layer) in layers.enumerated() {
      let prefix = continuing.map { MultiHeadAttention.Prefix(projected: $0.states.layers[index], ranges: prefixRanges) }
      let projected: Tensor
      (x, projected) = layer.continuing(x, sequences: ranges, causal: true, prefix: prefix)
      if keepingStates { kept.append(projected) }
    }
    let pooled = Tensor(shape: [sequences.count, c]) { out in
      x.scalars.withUnsafeBufferPointer { states in
        for (j, (ids, range)) in zip(sequences, ranges).enumerated() {
          let row = range.lowerBound + poolingIndex(ids) - skipped[j]
          (out.baseAddress! + j * c).initialize(from: states.baseAddress! + row * c, count: c)
        }
      }
    }
    let states = keepingStates ? States(sequences: sequences, ranges: ranges, layers: kept) : nil
    return (projection(finalLayerNorm(pooled)), states)
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
