/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations, for the
/// pseudo-inverse NIQE takes of its pooled covariance (as `torch.linalg.pinv` would).
struct SymmetricEigen {
  /// [n]
  var values: [Double]
  /// [n, n], row-major; column k is the eigenvector of `values[k]`.
  var vectors: [Double]
  let size: Int

  init(_ matrix: [Double], size n: Int) {
    precondition(matrix.count == n * n)
    size = n
    var a = matrix
    var v = [Double](repeating: 0, count: n * n)
    for i in 0..<n { v[i * n + i] = 1 }
    for _ in 0..<100 {
      var off = 0.0, total = 0.0
      for i in 0..<n {
        for j in 0..<n {
          total += a[i * n + j] * a[i * n + j]
          if i != j { off += a[i * n + j] * a[i * n + j] }
        }
      }
      if off <= 1e-30 * total || off == 0 { break }
      for p in 0..<(n - 1) {
        for q in (p + 1)..<n {
          let apq = a[p * n + q]
          if apq == 0 { continue }
          let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
          let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
          let c = 1 / (t * t + 1).squareRoot(), s = t * c
          for k in 0..<n {
            let akp = a[k * n + p], akq = a[k * n + q]
            a[k * n + p] = c * akp - s * akq
            a[k * n + q] = s * akp + c * akq
          }
          for k in 0..<n {
            let apk = a[p * n + k], aqk = a[q * n + k]
            a[p * n + k] = c * apk - s * aqk
            a[q * n + k] = s * apk + c * aqk
          }
          for k in 0..<n {
            let vkp = v[k * n + p], vkq = v[k * n + q]
            v[k * n + p] = c * vkp - s * vkq
            v[k * n + q] = s * vkp + c * vkq
          }
        }
      }
    }
    values = (0..<n).map { a[$0 * n + $0] }
    vectors = v
  }

  /// xᵀ A⁺ x, dropping eigenvalues under n · ε · max|λ| as `torch.linalg.pinv` does.
  func pseudoInverseQuadraticForm(_ x: [Double]) -> Double {
    let n = size
    let cutoff = Double(n) * Double.ulpOfOne * (values.map(abs).max() ?? 0)
    var sum = 0.0
    for k in 0..<n where abs(values[k]) > cutoff {
      var projection = 0.0
      for i in 0..<n { projection += vectors[i * n + k] * x[i] }
      sum += projection * projection / values[k]
    }
    return sum
  }
}
