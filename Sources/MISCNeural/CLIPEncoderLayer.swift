/// One pre-norm transformer block of CLIP: `x + attn(ln1 x)`, then `x + mlp(ln2 x)`.
public struct CLIPEncoderLayer: Sendable {
  public let layerNorm1: LayerNorm
  public let attention: MultiHeadAttention
  public let layerNorm2: LayerNorm
  /// [intermediate, width]
  public let fc1: Linear
  /// [width, intermediate]
  public let fc2: Linear
  public let activation: Activation

  /// Loads `<prefix>.self_attn.{q,k,v,out}_proj`, `.layer_norm1/2` and `.mlp.fc1/fc2`.
  init(weights: any TensorSource, prefix: String, width: Int, intermediate: Int, heads: Int,
       activation: Activation, epsilon: Float) throws {
    func linear(_ name: String, _ outputs: Int, _ inputs: Int) throws -> Linear {
      Linear(weight: try weights.tensor("\(prefix).\(name).weight", shape: [outputs, inputs]),
             bias: try weights.tensor("\(prefix).\(name).bias", shape: [outputs]))
    }
    layerNorm1 = try LayerNorm(weights: weights, prefix: "\(prefix).layer_norm1", width: width, epsilon: epsilon)
    layerNorm2 = try LayerNorm(weights: weights, prefix: "\(prefix).layer_norm2", width: width, epsilon: epsilon)
    attention = MultiHeadAttention(
      query: try linear("self_attn.q_proj", width, width), key: try linear("self_attn.k_proj", width, width),
      value: try linear("self_attn.v_proj", width, width), output: try linear("self_attn.out_proj", width, width),
      heads: heads)
    fc1 = try linear("mlp.fc1", intermediate, width)
    fc2 = try linear("mlp.fc2", width, intermediate)
    self.activation = activation
  }

  /// [tokens, width] -> [tokens, width]
  public func callAsFunction(_ x: Tensor, sequences: [Range<Int>]? = nil, causal: Bool = false) -> Tensor {
    // The branch's fresh output takes the residual, so `x` is never copied.
    var h = attention(layerNorm1(x), sequences: sequences, causal: causal)
    h += x
    h += mlp(layerNorm2(h))
    return h
  }

  /// The block on rows that continue sequences of an earlier run (see `MultiHeadAttention.Prefix`);
  /// also returns this run's q, k, v projection. [tokens, width] -> ([tokens, width], [tokens, 3 * width])
  public func continuing(_ x: Tensor, sequences: [Range<Int>], causal: Bool,
                         prefix: MultiHeadAttention.Prefix?) -> (output: Tensor, projected: Tensor) {
    var (h, projected) = attention.continuing(layerNorm1(x), sequences: sequences, causal: causal, prefix: prefix)
    h += x
    h += mlp(layerNorm2(h))
    return (h, projected)
  }

  /// The feed-forward branch (no residual). [tokens, width] -> [tokens, width]
  public func mlp(_ x: Tensor) -> Tensor {
    var hidden = fc1(x)
    activation.apply(&hidden)
    return fc2(hidden)
  }
}

extension LayerNorm {
  /// Loads `<prefix>.weight` and `<prefix>.bias`, both [width].
  init(weights: any TensorSource, prefix: String, width: Int, epsilon: Float) throws {
    self.init(weight: try weights.tensor("\(prefix).weight", shape: [width]),
              bias: try weights.tensor("\(prefix).bias", shape: [width]), epsilon: epsilon)
  }
}
