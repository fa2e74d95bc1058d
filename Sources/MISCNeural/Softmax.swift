import Foundation

/// Softmax along the last axis, numerically stable (the row maximum is subtracted first).
public enum Softmax {
  /// Normalises `count` values at `row` in place; only the first `valid` take part, the rest become 0
  /// (a causal mask without materialising -inf).
  @inlinable
  public static func normalizeRow(_ row: UnsafeMutablePointer<Float>, count: Int, valid: Int) {
    if valid > 0 {
      let maximum = VectorMath.maximum(row, count: valid)
      for i in 0..<valid { row[i] = VectorMath.exp(row[i] - maximum) }
      let inverse = 1 / VectorMath.sum(row, count: valid)
      for i in 0..<valid { row[i] *= inverse }
    }
    for i in valid..<count { row[i] = 0 }
  }

  /// [.., n] -> [.., n]
  public static func apply(_ x: Tensor) -> Tensor {
    var y = x
    let n = x.shape.last ?? 1
    guard n > 0 else { return y }
    y.scalars.withUnsafeMutableBufferPointer { values in
      for start in stride(from: 0, to: values.count, by: n) {
        normalizeRow(values.baseAddress! + start, count: n, valid: n)
      }
    }
    return y
  }
}
