import Foundation

/// CLIP's attention pooling over a ResNet feature map (OpenAI's `AttentionPool2d`): the mean of all
/// positions is prepended as a query token, and multi-head attention of that token over all tokens,
/// through `c_proj`, is the image embedding.
///
/// Only the first token's output is used, so only its query is computed. The positional embedding is
/// added as `positions` says: pyiqa's CLIP-IQA leaves it out (its default), or interpolates it to any grid.
public struct AttentionPool2d: Sendable {
  /// How the learned positional embedding meets a feature map of any size.
  public enum Positions: String, Sendable, Hashable, CaseIterable {
    /// No positional embedding at all: pyiqa's `clipiqa` (`pos_embedding=False`, its default).
    case omitted
    /// The embedding [grid² + 1, channels] resized to [tokens, channels] by PyTorch's bicubic interpolation
    /// (`F.interpolate(mode="bicubic")`, A = -0.75, half-pixel centres, edge clamping) along the token axis,
    /// as pyiqa's `pos_embedding=True` does; at the embedding's own size this is OpenAI CLIP's plain addition.
    case interpolated
  }

  /// [grid² + 1, channels]
  public let positionalEmbedding: Tensor
  public let query: Linear
  public let key: Linear
  public let value: Linear
  /// `c_proj`: [output, channels]
  public let output: Linear
  public let heads: Int

  /// Loads `<prefix>.positional_embedding`, `.q_proj`, `.k_proj`, `.v_proj` and `.c_proj`.
  public init(weights: any TensorSource, prefix: String, grid: Int, channels: Int, heads: Int, outputs: Int) throws {
    precondition(heads > 0 && channels % heads == 0, "\(channels) channels do not split into \(heads) heads")
    func linear(_ name: String, _ outputs: Int) throws -> Linear {
      Linear(weight: try weights.tensor("\(prefix).\(name).weight", shape: [outputs, channels]),
             bias: try weights.tensor("\(prefix).\(name).bias", shape: [outputs]))
    }
    positionalEmbedding = try weights.tensor("\(prefix).positional_embedding", shape: [grid * grid + 1, channels])
    query = try linear("q_proj", channels)
    key = try linear("k_proj", channels)
    value = try linear("v_proj", channels)
    output = try linear("c_proj", outputs)
    self.heads = heads
  }

  public var channels: Int { query.inputs }

  /// [channels, height, width] -> [output]
  public func callAsFunction(_ x: Tensor, positions: Positions) -> Tensor {
    precondition(x.rank == 3 && x.shape[0] == channels, "attention pool over \(channels) channels applied to \(x.shape)")
    let c = channels, spatial = x.shape[1] * x.shape[2], count = spatial + 1
    // Tokens [count, channels]: the mean first, then the positions row-major.
    var tokens = Tensor(zeros: [count, c])
    tokens.scalars.withUnsafeMutableBufferPointer { t in
      x.scalars.withUnsafeBufferPointer { src in
        for ch in 0..<c {
          var sum: Float = 0
          for i in 0..<spatial {
            let v = src[ch * spatial + i]
            t[(i + 1) * c + ch] = v
            sum += v
          }
          t[ch] = sum / Float(spatial)
        }
      }
    }
    if positions == .interpolated { tokens += interpolatedEmbedding(tokens: count) }
    let d = c / heads
    var q = query(tokens.rows(0..<1))
    let scale = 1 / Float(d).squareRoot()
    for i in q.scalars.indices { q.scalars[i] *= scale }
    let k = key(tokens), v = value(tokens)
    var context = Tensor(zeros: [1, c])
    var weights = [Float](repeating: 0, count: count)
    for h in 0..<heads {
      for t in 0..<count {
        var dot: Float = 0
        for j in h * d..<(h + 1) * d { dot += q.scalars[j] * k.scalars[t * c + j] }
        weights[t] = dot
      }
      weights.withUnsafeMutableBufferPointer { Softmax.normalizeRow($0.baseAddress!, count: count, valid: count) }
      for t in 0..<count {
        let w = weights[t]
        for j in h * d..<(h + 1) * d { context.scalars[j] += w * v.scalars[t * c + j] }
      }
    }
    return output(context).reshaped([output.outputs])
  }

  /// The positional embedding resized along its token axis to `tokens` rows (PyTorch bicubic,
  /// align_corners=False); unchanged at its own size. -> [tokens, channels]
  public func interpolatedEmbedding(tokens: Int) -> Tensor {
    let rows = positionalEmbedding.rows, c = channels
    if tokens == rows { return positionalEmbedding }
    let a: Float = -0.75
    func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }         // |x| <= 1
    func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }  // 1 < |x| < 2
    let scale = Float(rows) / Float(tokens)
    return Tensor(shape: [tokens, c]) { out in
      positionalEmbedding.scalars.withUnsafeBufferPointer { src in
        for row in 0..<tokens {
          let real = scale * (Float(row) + 0.5) - 0.5
          let base = Int(real.rounded(.down))
          let t = real - Float(base)
          let u = 1 - t
          let coefficients = [far(t + 1), near(t), near(u), far(u + 1)]
          let dst = out.baseAddress! + row * c
          dst.update(repeating: 0, count: c)
          for (k, w) in coefficients.enumerated() {
            let from = min(max(base - 1 + k, 0), rows - 1)
            for j in 0..<c { dst[j] += w * src[from * c + j] }
          }
        }
      }
    }
  }
}
