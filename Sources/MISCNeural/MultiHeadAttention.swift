/// Multi-head scaled dot-product attention with input and output projections (`CLIPAttention`).
///
/// The q, k and v projections are fused into one product; each head then takes two sgemm calls on
/// column blocks of that product, so no per-element work happens outside the softmax.
public struct MultiHeadAttention: Sendable {
  public let heads: Int
  /// q, k and v stacked along the outputs: weight [3 * width, width].
  public let qkv: Linear
  /// weight [width, width]
  public let output: Linear

  public init(query: Linear, key: Linear, value: Linear, output: Linear, heads: Int) {
    let width = query.outputs
    precondition(heads > 0 && width % heads == 0, "\(width) features do not split into \(heads) heads")
    precondition([key, value, output].allSatisfy { $0.inputs == width && $0.outputs == width } && query.inputs == width,
                 "attention projections must all be [\(width), \(width)]")
    self.heads = heads
    self.qkv = Linear.stacking([query, key, value])
    self.output = output
  }

  public var width: Int { output.outputs }
  public var headDimension: Int { width / heads }
  /// 1/√(head dimension)
  public var scale: Float { 1 / Float(headDimension).squareRoot() }

  /// Self-attention. `sequences` splits a packed batch into independent row ranges (nil: one
  /// sequence); `causal` lets each token see only itself and earlier ones. [tokens, width] -> [tokens, width]
  public func callAsFunction(_ x: Tensor, sequences: [Range<Int>]? = nil, causal: Bool = false) -> Tensor {
    let projected = qkv(x)
    let context = attend(projected, query: 0, key: 1, sequences: sequences ?? [0..<x.rows], causal: causal)
    return output(context)
  }

  /// CLIP Surgery's two paths from one input, sharing every projection: the original
  /// `softmax(q kᵀ · scale) v` and the v-v path `softmax(v vᵀ · scale) v`, each projected by the output
  /// layer. [tokens, width] -> ([tokens, width], [tokens, width])
  public func dualPath(_ x: Tensor) -> (original: Tensor, valueValue: Tensor) {
    let projected = qkv(x)
    let all = [0..<x.rows]
    let original = attend(projected, query: 0, key: 1, sequences: all, causal: false)
    let valueValue = attend(projected, query: 2, key: 2, sequences: all, causal: false)
    return (output(original), output(valueValue))
  }

  /// softmax(A Bᵀ · scale) V per head, where A and B are the q/k/v blocks numbered `query` and `key`
  /// (0 = q, 1 = k, 2 = v) of `projected`. [tokens, 3 * width] -> [tokens, width]
  private func attend(_ projected: Tensor, query: Int, key: Int, sequences: [Range<Int>], causal: Bool) -> Tensor {
    let width = self.width, stride = 3 * width, d = headDimension
    precondition(projected.columns == stride, "attention input \(projected.shape) is not [tokens, \(stride)]")
    let longest = sequences.map(\.count).max() ?? 0
    var scores = [Float](repeating: 0, count: longest * longest)
    var context = Tensor(zeros: [projected.rows, width])
    projected.scalars.withUnsafeBufferPointer { qkv in
      context.scalars.withUnsafeMutableBufferPointer { out in
        scores.withUnsafeMutableBufferPointer { s in
          for sequence in sequences where !sequence.isEmpty {
            let n = sequence.count
            let base = qkv.baseAddress! + sequence.lowerBound * stride
            for h in 0..<heads {
              let a = base + query * width + h * d
              let b = base + key * width + h * d
              let v = base + 2 * width + h * d
              Gemm.multiply(m: n, n: n, k: d, a: a, lda: stride, b: b, ldb: stride, transposeB: true,
                            c: s.baseAddress!, ldc: n, alpha: scale)
              for i in 0..<n {
                Softmax.normalizeRow(s.baseAddress! + i * n, count: n, valid: causal ? i + 1 : n)
              }
              Gemm.multiply(m: n, n: d, k: n, a: s.baseAddress!, lda: n, b: v, ldb: stride,
                            c: out.baseAddress! + sequence.lowerBound * width + h * d, ldc: width)
            }
          }
        }
      }
    }
    return context
  }
}
