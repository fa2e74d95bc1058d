/// A dense Float32 tensor: contiguous, row-major, its shape checked on every construction.
///
/// A value type over a copy-on-write array, so a model's weights are `Sendable` and cheap to share.
public struct Tensor: Sendable, Hashable {
  /// The extent of each axis, outermost first.
  public private(set) var shape: [Int]
  /// `shape.reduce(1, *)` values, row-major.
  public var scalars: [Float]

  public init(shape: [Int], scalars: [Float]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
    precondition(Tensor.count(of: shape) == scalars.count, "\(scalars.count) scalars do not fill shape \(shape)")
    self.shape = shape
    self.scalars = scalars
  }

  /// A tensor of zeros.
  public init(zeros shape: [Int]) {
    self.init(shape: shape, scalars: [Float](repeating: 0, count: Tensor.count(of: shape)))
  }

  /// A tensor filled by `body`, which must initialise every scalar of the buffer it gets.
  @inlinable
  public init(shape: [Int], initializingWith body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
    let count = Tensor.count(of: shape)
    let scalars = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      try body(buffer)
      initialized = count
    }
    self.init(shape: shape, scalars: scalars)
  }

  /// The number of scalars a shape holds.
  public static func count(of shape: [Int]) -> Int { shape.reduce(1, *) }

  public var count: Int { scalars.count }
  public var rank: Int { shape.count }

  /// The same scalars under another shape of the same count.
  public func reshaped(_ newShape: [Int]) -> Tensor {
    Tensor(shape: newShape, scalars: scalars)
  }

  /// Rows of a rank-2 tensor. [rows, columns] -> rows
  public var rows: Int {
    precondition(rank == 2, "rows of a rank-\(rank) tensor \(shape)")
    return shape[0]
  }

  /// Columns of a rank-2 tensor. [rows, columns] -> columns
  public var columns: Int {
    precondition(rank == 2, "columns of a rank-\(rank) tensor \(shape)")
    return shape[1]
  }

  /// One row of a rank-2 tensor as a rank-1 tensor. [rows, columns] -> [columns]
  public func row(_ index: Int) -> Tensor {
    precondition(index >= 0 && index < rows, "row \(index) out of \(shape)")
    return Tensor(shape: [columns], scalars: Array(scalars[index * columns..<(index + 1) * columns]))
  }

  /// Rows `range` of a rank-2 tensor. [rows, columns] -> [range.count, columns]
  public func rows(_ range: Range<Int>) -> Tensor {
    precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) out of \(shape)")
    return Tensor(shape: [range.count, columns], scalars: Array(scalars[range.lowerBound * columns..<range.upperBound * columns]))
  }

  /// Rank-2 tensors stacked along rows (all with the same column count). -> [sum of rows, columns]
  public static func concatenatingRows(_ parts: [Tensor]) -> Tensor {
    precondition(!parts.isEmpty, "nothing to concatenate")
    let columns = parts[0].columns
    precondition(parts.allSatisfy { $0.columns == columns }, "column counts differ: \(parts.map(\.shape))")
    return Tensor(shape: [parts.reduce(0) { $0 + $1.rows }, columns], scalars: parts.flatMap(\.scalars))
  }

  /// The Euclidean norm of all scalars.
  public var norm: Float {
    var sum: Float = 0
    for value in scalars { sum += value * value }
    return sum.squareRoot()
  }

  /// The tensor divided by its Euclidean norm (unchanged when the norm is zero).
  public func normalized() -> Tensor {
    let n = norm
    return n > 0 ? Tensor(shape: shape, scalars: scalars.map { $0 / n }) : self
  }

  /// The largest absolute difference to a tensor of the same shape.
  public func maxAbsoluteDifference(_ other: Tensor) -> Float {
    precondition(shape == other.shape, "shapes differ: \(shape) vs \(other.shape)")
    var worst: Float = 0
    for (a, b) in zip(scalars, other.scalars) { worst = max(worst, abs(a - b)) }
    return worst
  }
}

extension Tensor {
  /// Elementwise sum in place (residual connections). Shapes must match.
  public static func += (lhs: inout Tensor, rhs: Tensor) {
    precondition(lhs.shape == rhs.shape, "adding \(rhs.shape) to \(lhs.shape)")
    lhs.scalars.withUnsafeMutableBufferPointer { a in
      rhs.scalars.withUnsafeBufferPointer { b in
        for i in a.indices { a[i] += b[i] }
      }
    }
  }

  /// Elementwise sum. Shapes must match.
  public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
    var result = lhs
    result += rhs
    return result
  }
}
