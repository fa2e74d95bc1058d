import Foundation
import MISCNeural
import Testing

@Suite struct OpsTests {
  @Test func matmulAndBatchedMatmul() {
    let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let b = Tensor(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
    #expect(a.matmul(b) == Tensor(shape: [2, 2], scalars: [58, 64, 139, 154]))
    #expect(a.matmul(a, transposingOther: true) == Tensor(shape: [2, 2], scalars: [14, 32, 32, 77]))
    let batch = Tensor(shape: [2, 2, 3], scalars: a.scalars + a.scalars.map { -$0 })
    let result = batch.batchedMatmul(Tensor(shape: [2, 3, 2], scalars: b.scalars + b.scalars))
    #expect(result.scalars == [58, 64, 139, 154, -58, -64, -139, -154])
  }

  @Test func linearLayerNormActivationsSoftmax() {
    let linear = Linear(weight: Tensor(shape: [2, 3], scalars: [1, 0, -1, 0.5, 0.5, 0.5]), bias: Tensor(shape: [2], scalars: [1, -1]))
    #expect(linear(Tensor(shape: [1, 3], scalars: [1, 2, 3])).scalars == [-1, 2])
    let norm = LayerNorm(weight: Tensor(shape: [2], scalars: [1, 2]), bias: Tensor(shape: [2], scalars: [0, 1]), epsilon: 0)
    #expect(norm(Tensor(shape: [1, 2], scalars: [1, 3])).scalars == [-1, 3])
    let x = Tensor(shape: [3], scalars: [-1, 0, 2])
    let gelu = Activation.gelu(x).scalars, quick = Activation.quickGELU(x).scalars
    #expect(abs(gelu[0] - -0.15865525) < 1e-6 && gelu[1] == 0 && abs(gelu[2] - 1.9544997) < 1e-6)
    #expect(abs(quick[0] - -1 / (1 + exp(1.702))) < 1e-6 && abs(quick[2] - 2 / (1 + exp(-3.404))) < 1e-6)
    let s = Softmax.apply(Tensor(shape: [1, 3], scalars: [1000, 1000, 1000 + log(2)])).scalars
    #expect(abs(s[0] - 0.25) < 1e-4 && abs(s[2] - 0.5) < 1e-4)  // no overflow at 1000
  }

  /// Attention against a direct per-element computation, with a packed causal batch.
  @Test func attentionMatchesNaive() {
    let width = 8, heads = 2, tokens = 5
    let source = RandomTensors(shapes: ["q": [width, width], "k": [width, width], "v": [width, width], "o": [width, width],
                                        "qb": [width], "kb": [width], "vb": [width], "ob": [width], "x": [tokens, width]], scale: 1)
    func linear(_ w: String, _ b: String) -> Linear { Linear(weight: try! source.tensor(w), bias: try! source.tensor(b)) }
    let (q, k, v, o) = (linear("q", "qb"), linear("k", "kb"), linear("v", "vb"), linear("o", "ob"))
    let attention = MultiHeadAttention(query: q, key: k, value: v, output: o, heads: heads)
    let x = try! source.tensor("x")
    func naive(_ rows: Range<Int>, causal: Bool, vv: Bool = false) -> [Float] {
      let (qx, kx, vx) = (q(x), k(x), v(x))
      let d = width / heads
      var context = [Float](repeating: 0, count: rows.count * width)
      for h in 0..<heads {
        for i in rows {
          var scores: [Float] = []
          for j in rows where !causal || j <= i {
            var dot: Float = 0
            for c in 0..<d {
              let a = vv ? vx.scalars[i * width + h * d + c] : qx.scalars[i * width + h * d + c]
              let b = vv ? vx.scalars[j * width + h * d + c] : kx.scalars[j * width + h * d + c]
              dot += a * b
            }
            scores.append(dot / Float(d).squareRoot())
          }
          let m = scores.max()!
          let e = scores.map { exp($0 - m) }
          let sum = e.reduce(0, +)
          for (n, j) in rows.filter({ !causal || $0 <= i }).enumerated() {
            for c in 0..<d { context[(i - rows.lowerBound) * width + h * d + c] += e[n] / sum * vx.scalars[j * width + h * d + c] }
          }
        }
      }
      return o(Tensor(shape: [rows.count, width], scalars: context)).scalars
    }
    let full = attention(x)
    #expect(zip(full.scalars, naive(0..<tokens, causal: false)).allSatisfy { abs($0 - $1) < 1e-4 })
    let packed = attention(x, sequences: [0..<2, 2..<5], causal: true)
    let expected = naive(0..<2, causal: true) + naive(2..<5, causal: true)
    #expect(zip(packed.scalars, expected).allSatisfy { abs($0 - $1) < 1e-4 })
    let (original, valueValue) = attention.dualPath(x)
    #expect(original.maxAbsoluteDifference(full) < 1e-5)
    #expect(zip(valueValue.scalars, naive(0..<tokens, causal: false, vv: true)).allSatisfy { abs($0 - $1) < 1e-4 })
  }

  @Test func patchEmbeddingIsAStridedConvolution() {
    // 1 channel, 4x4 image, 2x2 patches, 1 output: the kernel picks the top-left pixel of each patch.
    let pixels = Tensor(shape: [1, 4, 4], scalars: (0..<16).map(Float.init))
    let embedding = PatchEmbedding(weight: Tensor(shape: [1, 4], scalars: [1, 0, 0, 0.5]), channels: 1, patch: 2)
    let expected: [Float] = [2.5, 5.5, 14.5, 17.5]  // top-left + half the bottom-right of each patch
    #expect(embedding(pixels).scalars == expected)
  }
}
