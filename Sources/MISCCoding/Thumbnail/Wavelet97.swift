/// The CDF 9/7 wavelet (JPEG 2000's irreversible filter) as integer lifting in 14-bit fixed point,
/// scaled so every synthesis basis function has unit norm: a quantisation error of e in any
/// coefficient costs about e² of squared pixel error, so one step size is MSE-optimal for all bands.
///
/// Every operation is on integers, so the inverse is a pure function of its input on any machine.
/// Lengths of any size are accepted; an axis of length 1 is left untransformed.
enum Wavelet97 {
  static let fractionBits = 14
  static let half = 1 << 13
  // α, β, γ, δ of the lifting factorisation, times 2^14.
  static let alpha = -25987
  static let beta = -868
  static let gamma = 14466
  static let delta = 7266
  // Norms of the low and high synthesis functions (and their inverses), times 2^14.
  static let lowScale = 18674
  static let highScale = 14537
  static let inverseLowScale = 14375
  static let inverseHighScale = 18465
  /// Coefficient magnitudes are clamped here after every inverse level: legitimate values stay
  /// far below it (≈ 2^21), and it keeps hostile coefficients from overflowing.
  static let clampLimit = 1 << 28

  /// Number of low-pass samples a length-`n` axis splits into.
  @inline(__always)
  static func lowCount(_ n: Int) -> Int { n == 1 ? 1 : (n + 1) / 2 }

  /// The sizes of the successive low-pass regions: `[(w, h), (lw1, lh1), …]`, `levels + 1` entries.
  static func regionSizes(width: Int, height: Int, levels: Int) -> [(width: Int, height: Int)] {
    var sizes = [(width: width, height: height)]
    for _ in 0..<levels {
      let last = sizes[sizes.count - 1]
      sizes.append((lowCount(last.width), lowCount(last.height)))
    }
    return sizes
  }

  /// Forward 2-D transform in place (Mallat layout: the low band ends up top-left).
  static func forward(_ data: inout [Int], width: Int, height: Int, levels: Int) {
    var line = [Int](repeating: 0, count: max(width, height))
    var out = line
    let sizes = regionSizes(width: width, height: height, levels: levels)
    for level in 0..<levels {
      let (w, h) = sizes[level]
      if w > 1 {
        for y in 0..<h {
          let base = y * width
          for x in 0..<w { line[x] = data[base + x] }
          forward1D(&line, &out, w)
          for x in 0..<w { data[base + x] = out[x] }
        }
      }
      if h > 1 {
        for x in 0..<w {
          for y in 0..<h { line[y] = data[y * width + x] }
          forward1D(&line, &out, h)
          for y in 0..<h { data[y * width + x] = out[y] }
        }
      }
    }
  }

  /// Inverse 2-D transform in place.
  static func inverse(_ data: inout [Int], width: Int, height: Int, levels: Int) {
    var line = [Int](repeating: 0, count: max(width, height))
    var out = line
    let sizes = regionSizes(width: width, height: height, levels: levels)
    for level in stride(from: levels - 1, through: 0, by: -1) {
      let (w, h) = sizes[level]
      if h > 1 {
        for x in 0..<w {
          for y in 0..<h { line[y] = data[y * width + x] }
          inverse1D(&line, &out, h)
          for y in 0..<h { data[y * width + x] = out[y] }
        }
      }
      if w > 1 {
        for y in 0..<h {
          let base = y * width
          for x in 0..<w { line[x] = data[base + x] }
          inverse1D(&line, &out, w)
          for x in 0..<w { data[base + x] = out[x] }
        }
      }
      for y in 0..<h {
        for x in 0..<w {
          let i = y * width + x
          data[i] = min(max(data[i], -clampLimit), clampLimit)
        }
      }
    }
  }

  /// One lifting step on `n ≥ 2` samples: every sample of the given parity gains `c` times the
  /// sum of its two neighbours (mirrored at the ends), in fixed point. `sign` −1 undoes it.
  @inline(__always)
  static func lift(_ x: UnsafeMutableBufferPointer<Int>, _ n: Int, parity: Int, _ c: Int, sign: Int) {
    var i = parity
    while i < n {
      let left = i == 0 ? 1 : i - 1  // whole-sample symmetric extension
      let right = i + 1 < n ? i + 1 : n - 2
      x[i] += sign * ((c * (x[left] + x[right]) + half) >> fractionBits)
      i += 2
    }
  }

  /// One level on `n ≥ 2` samples: interleaved input in `x`, `[low | high]` into `out`.
  static func forward1D(_ x: inout [Int], _ out: inout [Int], _ n: Int) {
    precondition(n >= 2 && x.count >= n && out.count >= n)
    x.withUnsafeMutableBufferPointer { x in
      out.withUnsafeMutableBufferPointer { out in
        lift(x, n, parity: 1, alpha, sign: 1)
        lift(x, n, parity: 0, beta, sign: 1)
        lift(x, n, parity: 1, gamma, sign: 1)
        lift(x, n, parity: 0, delta, sign: 1)
        let low = lowCount(n)
        for i in 0..<n {
          if i & 1 == 0 {
            out[i >> 1] = (x[i] * lowScale + half) >> fractionBits
          } else {
            out[low + (i >> 1)] = (x[i] * highScale + half) >> fractionBits
          }
        }
      }
    }
  }

  /// Inverse of `forward1D`: `[low | high]` in `x`, interleaved samples into `out`.
  static func inverse1D(_ x: inout [Int], _ out: inout [Int], _ n: Int) {
    precondition(n >= 2 && x.count >= n && out.count >= n)
    x.withUnsafeMutableBufferPointer { x in
      out.withUnsafeMutableBufferPointer { out in
        let low = lowCount(n)
        for i in 0..<n {
          if i & 1 == 0 {
            out[i] = (x[i >> 1] * inverseLowScale + half) >> fractionBits
          } else {
            out[i] = (x[low + (i >> 1)] * inverseHighScale + half) >> fractionBits
          }
        }
        lift(out, n, parity: 0, delta, sign: -1)
        lift(out, n, parity: 1, gamma, sign: -1)
        lift(out, n, parity: 0, beta, sign: -1)
        lift(out, n, parity: 1, alpha, sign: -1)
      }
    }
  }
}
