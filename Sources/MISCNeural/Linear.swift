/// A fully connected layer, `y = x Wᵀ + b`, as PyTorch's `nn.Linear` stores it.
public struct Linear: Sendable {
  /// [outputs, inputs]
  public let weight: Tensor
  /// [outputs], or nil for a layer without bias.
  public let bias: Tensor?

  public init(weight: Tensor, bias: Tensor?) {
    precondition(weight.rank == 2, "linear weight must be rank 2, got \(weight.shape)")
    precondition(bias == nil || bias!.shape == [weight.rows], "linear bias \(bias!.shape) does not match weight \(weight.shape)")
    self.weight = weight
    self.bias = bias
  }

  public var inputs: Int { weight.columns }
  public var outputs: Int { weight.rows }

  /// [tokens, inputs] -> [tokens, outputs]
  public func callAsFunction(_ x: Tensor) -> Tensor {
    precondition(x.rank == 2 && x.columns == inputs, "linear \(weight.shape) applied to \(x.shape)")
    let (tokens, outputs) = (x.rows, self.outputs)
    // The product overwrites the buffer (beta 0) or adds to the bias rows (beta 1): no zero fill.
    return Tensor(shape: [tokens, outputs]) { out in
      if let bias {
        bias.scalars.withUnsafeBufferPointer { b in
          for t in 0..<tokens { (out.baseAddress! + t * outputs).initialize(from: b.baseAddress!, count: outputs) }
        }
      }
      x.scalars.withUnsafeBufferPointer { a in
        weight.scalars.withUnsafeBufferPointer { w in
          Gemm.multiply(m: tokens, n: outputs, k: inputs, a: a.baseAddress!, lda: inputs,
                        b: w.baseAddress!, ldb: inputs, transposeB: true,
                        c: out.baseAddress!, ldc: outputs, beta: bias == nil ? 0 : 1)
        }
      }
    }
  }

  /// Layers sharing an input fused into one: their weights stacked along the outputs (q, k, v -> qkv).
  public static func stacking(_ layers: [Linear]) -> Linear {
    let weight = Tensor.concatenatingRows(layers.map(\.weight))
    let bias: Tensor? = layers.allSatisfy { $0.bias != nil }
      ? Tensor(shape: [weight.rows], scalars: layers.flatMap { $0.bias!.scalars }) : nil
    precondition(bias != nil || layers.allSatisfy { $0.bias == nil }, "cannot stack layers with and without bias")
    return Linear(weight: weight, bias: bias)
  }
}
