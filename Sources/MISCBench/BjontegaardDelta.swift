import Foundation

/// One point of a rate–distortion curve: real bytes and RGB PSNR in dB.
public struct RDPoint: Codable, Sendable, Hashable {
  public var bytes: Int
  public var psnr: Double
  /// The encoder setting that produced it (quality, quantiser…), for reports.
  public var setting: String

  public init(bytes: Int, psnr: Double, setting: String = "") {
    self.bytes = bytes
    self.psnr = psnr
    self.setting = setting
  }
}

/// Bjøntegaard delta rate (VCEG-M33): the average bitrate difference of `test` against
/// `reference` at equal PSNR. Each curve's log-rate is fitted as a cubic polynomial of PSNR
/// by least squares and integrated over the PSNR interval both curves cover.
public enum BjontegaardDelta {
  /// The rate difference in percent (−20 means `test` needs 20% fewer bytes), or nil when a curve
  /// has fewer than 4 usable points or the curves do not overlap.
  public static func rate(reference: [RDPoint], test: [RDPoint]) -> Double? {
    let a = envelope(reference), b = envelope(test)
    guard a.count >= 4, b.count >= 4 else { return nil }
    let low = max(a.first!.psnr, b.first!.psnr)
    let high = min(a.last!.psnr, b.last!.psnr)
    guard high > low else { return nil }
    guard let fitA = fitCubic(a.map(\.psnr), a.map { log(Double($0.bytes)) }),
          let fitB = fitCubic(b.map(\.psnr), b.map { log(Double($0.bytes)) }) else { return nil }
    let meanA = (integral(fitA, high) - integral(fitA, low)) / (high - low)
    let meanB = (integral(fitB, high) - integral(fitB, low)) / (high - low)
    return (exp(meanB - meanA) - 1) * 100
  }

  /// The points that improve on every cheaper point: sorted by bytes with PSNR strictly rising.
  /// Dominated points (more bytes, no better PSNR) would bend the fit backwards.
  public static func envelope(_ points: [RDPoint]) -> [RDPoint] {
    let sorted = points.filter { $0.bytes > 0 && $0.psnr.isFinite }
      .sorted { ($0.bytes, -$0.psnr) < ($1.bytes, -$1.psnr) }
    var out: [RDPoint] = []
    for p in sorted where out.last.map({ p.psnr > $0.psnr && p.bytes > $0.bytes }) ?? true {
      out.append(p)
    }
    return out
  }

  /// Least-squares cubic c0 + c1·x + c2·x² + c3·x³ through (x, y), by the normal equations
  /// on x centred and scaled for conditioning. Returns coefficients in the original x.
  static func fitCubic(_ x: [Double], _ y: [Double]) -> [Double]? {
    let n = Double(x.count)
    let mean = x.reduce(0, +) / n
    let scale = max(x.map { abs($0 - mean) }.max() ?? 1, 1e-9)
    let t = x.map { ($0 - mean) / scale }
    var m = [[Double]](repeating: [Double](repeating: 0, count: 5), count: 4)
    for (ti, yi) in zip(t, y) {
      let powers = [1, ti, ti * ti, ti * ti * ti]
      for r in 0..<4 {
        for c in 0..<4 { m[r][c] += powers[r] * powers[c] }
        m[r][4] += powers[r] * yi
      }
    }
    // Gaussian elimination with partial pivoting.
    for col in 0..<4 {
      let pivot = (col..<4).max { abs(m[$0][col]) < abs(m[$1][col]) }!
      guard abs(m[pivot][col]) > 1e-12 else { return nil }
      m.swapAt(col, pivot)
      for r in 0..<4 where r != col {
        let f = m[r][col] / m[col][col]
        for c in col..<5 { m[r][c] -= f * m[col][c] }
      }
    }
    let d = (0..<4).map { m[$0][4] / m[$0][$0] }  // in t = (x − mean)/scale
    // Expand Σ d_k ((x − mean)/scale)^k into powers of x.
    var coefficients = [Double](repeating: 0, count: 4)
    for k in 0..<4 {
      let dk = d[k] / pow(scale, Double(k))
      for j in 0...k {
        coefficients[j] += dk * binomial(k, j) * pow(-mean, Double(k - j))
      }
    }
    return coefficients
  }

  private static func binomial(_ n: Int, _ k: Int) -> Double {
    var r = 1.0
    for i in 0..<k { r = r * Double(n - i) / Double(i + 1) }
    return r
  }

  /// ∫₀^x of the polynomial.
  static func integral(_ c: [Double], _ x: Double) -> Double {
    var sum = 0.0
    for (k, ck) in c.enumerated() { sum += ck * pow(x, Double(k + 1)) / Double(k + 1) }
    return sum
  }
}
