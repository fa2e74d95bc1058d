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
    continuing(x, sequences: sequences ?? [0..<x.rows], causal: causal, prefix: nil).output
  }

  /// Rows that continue sequences begun in an earlier run: each sequence's rows also attend to the
  /// keys and values of its prefix, rows of that run's `projected`, which come first in it.
  public struct Prefix {
    /// The earlier run's q, k and v projections. [rows, 3 * width]
    public var projected: Tensor
    /// Per sequence, its prefix rows in `projected` (empty: none).
    public var ranges: [Range<Int>]

    public init(projected: Tensor, ranges: [Range<Int>]) {
      self.projected = projected
      self.ranges = ranges
    }
  }

  /// Self-attention with an optional prefix per sequence; also returns the q, k, v projection of `x`
  /// so that a later run can continue these rows. [tokens, width] -> ([tokens, width], [tokens, 3 * width])
  public func continuing(_ x: Tensor, sequences: [Range<Int>], causal: Bool, prefix: Prefix?) -> (output: Tensor, projected: Tensor) {
    precondition(prefix == nil || prefix!.ranges.count == sequences.count, "one prefix range per sequence")
    let projected = qkv(x)
    let context = attend(projected, query: 0, key: 1, sequences: sequences, causal: causal, prefix: prefix)
    return (output(context), projected)
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
  /// With a prefix of p rows, a sequence's n rows score [n, p + n]: the prefix's keys first, then
  /// their own; row i sees p + i + 1 of them when causal.
  private func attend(_ projected: Tensor, query: Int, key: Int, sequences: [Range<Int>], causal: Bool,
                      prefix: Prefix? = nil) -> Tensor {
    let width = self.width, stride = 3 * width, d = headDimension
    precondition(projected.columns == stride, "attention input \(projected.shape) is not [tokens, \(stride)]")
    precondition(prefix == nil || prefix!.projected.columns == stride, "attention prefix is not [rows, \(stride)]")
    let prefixRanges = prefix?.ranges ?? []
    let longest = sequences.map(\.count).max() ?? 0
    let widest = zip(sequences.indices, sequences).map { j, sequence in
      sequence.count + (prefixRanges.isEmpty ? 0 : prefixRanges[j].count)
    }.max() ?? 0
    var scores = [Float](repeating: 0, count: longest * widest)
    var context = Tensor(zeros: [projected.rows, width])
    let earlier = prefix?.projected ?? Tensor(zeros: [0, stride])
    projected.scalars.withUnsafeBufferPointer { qkv in
      earlier.scalars.withUnsafeBufferPointer { previous in
      context.scalars.withUnsafeMutableBufferPointer { out in
        scores.withUnsafeMutableBufferPointer { s in
          for (j, sequence) in sequences.enumerated() where !sequence.isEmpty {
            let n = sequence.count
            let p = prefixRanges.isEmpty ? 0 : prefixRanges[j].count
            let total = p + n
            let base = qkv.baseAddress! + sequence.lowerBound * stride
            let prefixBase = p > 0 ? previous.baseAddress! + prefixRanges[j].lowerBound * stride : base
            for h in 0..<heads {
              let a = base + query * width + h * d
              let b = base + key * width + h * d
              let v = base + 2 * width + h * d
              if p > 0 {
                Gemm.multiply(m: n, n: p, k: d, a: a, lda: stride, b: prefixBase + key * width + h * d, ldb: stride,
                              transposeB: true, c: s.baseAddress!, ldc: total, alpha: scale)
              }
              Gemm.multiply(m: n, n: n, k: d, a: a, lda: stride, b: b, ldb: stride, transposeB: true,
                            c: s.baseAddress! + p, ldc: total, alpha: scale)
              for i in 0..<n {
                Softmax.normalizeRow(s.baseAddress! + i * total, count: total, valid: causal ? p + i + 1 : total)
              }
              let c = out.baseAddress! + sequence.lowerBound * width + h * d
              if p > 0 {
                Gemm.multiply(m: n, n: d, k: p, a: s.baseAddress!, lda: total, b: prefixBase + 2 * width + h * d,
                              ldb: stride, c: c, ldc: width)
              }
              Gemm.multiply(m: n, n: d, k: n, a: s.baseAddress! + p, lda: total, b: v, ldb: stride,
                            c: c, ldc: width, beta: p > 0 ? 1 : 0)
            }
          }
        }
      }
      }
    }
    return context
  }
}
