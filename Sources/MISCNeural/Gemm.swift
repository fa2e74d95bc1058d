import COpenBLAS

/// Single-precision matrix products through OpenBLAS `cblas_sgemm`, row-major.
public enum Gemm {
  /// `c = alpha * op(a) * op(b) + beta * c`, where op(a) is [m, k], op(b) is [k, n] and c is [m, n];
  /// the leading dimensions are the row strides, so column blocks (one attention head) need no copy.
  @inlinable
  public static func multiply(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
    b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    alpha: Float = 1, beta: Float = 0
  ) {
    guard m > 0, n > 0 else { return }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
  }

  /// The threads OpenBLAS uses for one product.
  public static var threads: Int {
    get { Int(openblas_get_num_threads()) }
    set { openblas_set_num_threads(Int32(max(1, newValue))) }
  }
}

extension Tensor {
  /// The matrix product of two rank-2 tensors. [m, k] x [k, n] -> [m, n]
  public func matmul(_ other: Tensor, transposingOther: Bool = false) -> Tensor {
    let (m, k) = (rows, columns)
    let n = transposingOther ? other.rows : other.columns
    precondition((transposingOther ? other.columns : other.rows) == k, "matmul of \(shape) and \(other.shape)\(transposingOther ? "ᵀ" : "")")
    var result = Tensor(zeros: [m, n])
    scalars.withUnsafeBufferPointer { a in
      other.scalars.withUnsafeBufferPointer { b in
        result.scalars.withUnsafeMutableBufferPointer { c in
          Gemm.multiply(m: m, n: n, k: k, a: a.baseAddress!, lda: k,
                        b: b.baseAddress!, ldb: other.columns, transposeB: transposingOther,
                        c: c.baseAddress!, ldc: n)
        }
      }
    }
    return result
  }

  /// A batch of matrix products over the leading axis. [batch, m, k] x [batch, k, n] -> [batch, m, n]
  public func batchedMatmul(_ other: Tensor, transposingOther: Bool = false) -> Tensor {
    precondition(rank == 3 && other.rank == 3 && shape[0] == other.shape[0], "batched matmul of \(shape) and \(other.shape)")
    let (batch, m, k) = (shape[0], shape[1], shape[2])
    let n = transposingOther ? other.shape[1] : other.shape[2]
    precondition((transposingOther ? other.shape[2] : other.shape[1]) == k, "batched matmul of \(shape) and \(other.shape)")
    var result = Tensor(zeros: [batch, m, n])
    let otherStride = other.shape[1] * other.shape[2]
    scalars.withUnsafeBufferPointer { a in
      other.scalars.withUnsafeBufferPointer { b in
        result.scalars.withUnsafeMutableBufferPointer { c in
          for i in 0..<batch {
            Gemm.multiply(m: m, n: n, k: k, a: a.baseAddress! + i * m * k, lda: k,
                          b: b.baseAddress! + i * otherStride, ldb: other.shape[2], transposeB: transposingOther,
                          c: c.baseAddress! + i * m * n, ldc: n)
          }
        }
      }
    }
    return result
  }
}
