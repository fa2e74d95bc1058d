import Foundation

/// The pointwise nonlinearities of CLIP's MLPs, named as Hugging Face's `hidden_act`.
public enum Activation: String, Sendable, Hashable, CaseIterable {
  /// `x * sigmoid(1.702 x)`: OpenAI CLIP's approximation.
  case quickGELU = "quick_gelu"
  /// `x/2 * (1 + erf(x/√2))`: the exact GELU.
  case gelu = "gelu"

  /// Applies the function to every scalar, in place.
  public func apply(_ x: inout Tensor) {
    x.scalars.withUnsafeMutableBufferPointer { values in
      switch self {
      case .quickGELU:
        for i in values.indices {
          let v = values[i]
          values[i] = v / (1 + VectorMath.exp(-1.702 * v))
        }
      case .gelu:
        let inverseRoot2: Float = 0.70710678118654752440
        for i in values.indices {
          let v = values[i]
          values[i] = 0.5 * v * (1 + erf(v * inverseRoot2))
        }
      }
    }
  }

  /// [..] -> [..]
  public func callAsFunction(_ x: Tensor) -> Tensor {
    var y = x
    apply(&y)
    return y
  }
}
