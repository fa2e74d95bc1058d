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
  ///
  /// Rows and columns are lifted a whole row at a time (the odd and even samples of a row split
  /// apart first), so the loops read memory in order and vectorise; each sample still gets
  /// exactly the integer arithmetic of the one-dimensional lifting steps, in the same order.
  static func forward(_ data: inout [Int], width: Int, height: Int, levels: Int) {
    let sizes = regionSizes(width: width, height: height, levels: levels)
    var scratch = [Int](repeating: 0, count: levels > 0 ? width * height : 0)
    data.withUnsafeMutableBufferPointer { d in
      scratch.withUnsafeMutableBufferPointer { s in
        guard let base = d.baseAddress, let temp = s.baseAddress else { return }
        for level in 0..<levels {
          let (w, h) = sizes[level]
          if w > 1 {
            for y in 0..<h { forwardRow(base + y * width, w, scratch: temp) }
          }
          if h > 1 { forwardColumns(base, stride: width, width: w, height: h, scratch: temp) }
        }
      }
    }
  }

  /// Inverse 2-D transform in place; coefficients are clamped to ±`clampLimit` after every level.
  static func inverse(_ data: inout [Int], width: Int, height: Int, levels: Int) {
    let sizes = regionSizes(width: width, height: height, levels: levels)
    var scratch = [Int](repeating: 0, count: levels > 0 ? width * height : 0)
    data.withUnsafeMutableBufferPointer { d in
      scratch.withUnsafeMutableBufferPointer { s in
        guard let base = d.baseAddress, let temp = s.baseAddress else { return }
        for level in stride(from: levels - 1, through: 0, by: -1) {
          let (w, h) = sizes[level]
          if h > 1 { inverseColumns(base, stride: width, width: w, height: h, scratch: temp) }
          if w > 1 {
            for y in 0..<h { inverseRow(base + y * width, w, scratch: temp) }
          }
          for y in 0..<h {
            let row = base + y * width
            for x in 0..<w { row[x] = min(max(row[x], -clampLimit), clampLimit) }
          }
        }
      }
    }
  }

  /// One level on the `n ≥ 2` samples at `row`: interleaved in, `[low | high]` out. `scratch`
  /// holds at least `n` values.
  static func forwardRow(_ row: UnsafeMutablePointer<Int>, _ n: Int, scratch: UnsafeMutablePointer<Int>) {
    let low = lowCount(n), high = n - low
    let even = scratch, odd = scratch + low
    for k in 0..<low { even[k] = row[2 * k] }
    for k in 0..<high { odd[k] = row[2 * k + 1] }
    liftOdd(odd, even, n, alpha, inverse: false)
    liftEven(even, odd, n, beta, inverse: false)
    liftOdd(odd, even, n, gamma, inverse: false)
    liftEven(even, odd, n, delta, inverse: false)
    for k in 0..<low { row[k] = (even[k] &* lowScale &+ half) >> fractionBits }
    for k in 0..<high { row[low + k] = (odd[k] &* highScale &+ half) >> fractionBits }
  }

  /// Inverse of `forwardRow`.
  static func inverseRow(_ row: UnsafeMutablePointer<Int>, _ n: Int, scratch: UnsafeMutablePointer<Int>) {
    let low = lowCount(n), high = n - low
    let even = scratch, odd = scratch + low
    for k in 0..<low { even[k] = (row[k] &* inverseLowScale &+ half) >> fractionBits }
    for k in 0..<high { odd[k] = (row[low + k] &* inverseHighScale &+ half) >> fractionBits }
    liftEven(even, odd, n, delta, inverse: true)
    liftOdd(odd, even, n, gamma, inverse: true)
    liftEven(even, odd, n, beta, inverse: true)
    liftOdd(odd, even, n, alpha, inverse: true)
    for k in 0..<low { row[2 * k] = even[k] }
    for k in 0..<high { row[2 * k + 1] = odd[k] }
  }

  /// The lifting step of the odd samples of an `n`-sample line (`n ≥ 2`), given split: the odd
  /// sample 2k + 1 gains (or, inverting, loses) `c` times the sum of the even samples 2k and
  /// 2k + 2, the latter mirrored to 2k at the end (whole-sample symmetric extension).
  @inline(__always)
  static func liftOdd(_ odd: UnsafeMutablePointer<Int>, _ even: UnsafeMutablePointer<Int>, _ n: Int, _ c: Int, inverse: Bool) {
    let high = n / 2
    let interior = n & 1 == 1 ? high : high - 1  // those whose even sample 2k + 2 exists
    if inverse {
      for k in 0..<interior { odd[k] &-= (c &* (even[k] &+ even[k + 1]) &+ half) >> fractionBits }
    } else {
      for k in 0..<interior { odd[k] &+= (c &* (even[k] &+ even[k + 1]) &+ half) >> fractionBits }
    }
    if interior < high {
      let k = high - 1, v = (c &* (even[k] &+ even[k]) &+ half) >> fractionBits
      if inverse { odd[k] &-= v } else { odd[k] &+= v }
    }
  }

  /// The lifting step of the even samples: sample 2k gains `c` times the sum of the odd samples
  /// 2k − 1 and 2k + 1, mirrored at both ends (sample 0 uses sample 1 twice).
  @inline(__always)
  static func liftEven(_ even: UnsafeMutablePointer<Int>, _ odd: UnsafeMutablePointer<Int>, _ n: Int, _ c: Int, inverse: Bool) {
    let low = lowCount(n)
    let interior = n & 1 == 1 ? low - 1 : low  // those (from k = 1) whose odd sample 2k + 1 exists
    let first = (c &* (odd[0] &+ odd[0]) &+ half) >> fractionBits
    if inverse { even[0] &-= first } else { even[0] &+= first }
    if inverse {
      for k in 1..<max(1, interior) { even[k] &-= (c &* (odd[k - 1] &+ odd[k]) &+ half) >> fractionBits }
    } else {
      for k in 1..<max(1, interior) { even[k] &+= (c &* (odd[k - 1] &+ odd[k]) &+ half) >> fractionBits }
    }
    if interior < low {
      let k = low - 1, v = (c &* (odd[k - 1] &+ odd[k - 1]) &+ half) >> fractionBits
      if inverse { even[k] &-= v } else { even[k] &+= v }
    }
  }

  /// `forwardRow` on every column of the top-left `width × height` region (rows `stride` apart),
  /// `height ≥ 2`, lifting whole rows at a time. `scratch` holds at least `width × height`.
  static func forwardColumns(_ base: UnsafeMutablePointer<Int>, stride: Int, width w: Int, height h: Int,
                             scratch temp: UnsafeMutablePointer<Int>) {
    liftRows(base, stride: stride, width: w, height: h, parity: 1, alpha, inverse: false)
    liftRows(base, stride: stride, width: w, height: h, parity: 0, beta, inverse: false)
    liftRows(base, stride: stride, width: w, height: h, parity: 1, gamma, inverse: false)
    liftRows(base, stride: stride, width: w, height: h, parity: 0, delta, inverse: false)
    let low = lowCount(h)
    for y in 0..<h {
      let source = base + y * stride
      let target = temp + (y & 1 == 0 ? y >> 1 : low + (y >> 1)) * w
      let scale = y & 1 == 0 ? lowScale : highScale
      for x in 0..<w { target[x] = (source[x] &* scale &+ half) >> fractionBits }
    }
    for y in 0..<h { (base + y * stride).update(from: temp + y * w, count: w) }
  }

  /// `inverseRow` on every column of the top-left `width × height` region, `height ≥ 2`.
  static func inverseColumns(_ base: UnsafeMutablePointer<Int>, stride: Int, width w: Int, height h: Int,
                             scratch temp: UnsafeMutablePointer<Int>) {
    let low = lowCount(h)
    for y in 0..<h {
      let source = base + (y & 1 == 0 ? y >> 1 : low + (y >> 1)) * stride
      let target = temp + y * w
      let scale = y & 1 == 0 ? inverseLowScale : inverseHighScale
      for x in 0..<w { target[x] = (source[x] &* scale &+ half) >> fractionBits }
    }
    liftRows(temp, stride: w, width: w, height: h, parity: 0, delta, inverse: true)
    liftRows(temp, stride: w, width: w, height: h, parity: 1, gamma, inverse: true)
    liftRows(temp, stride: w, width: w, height: h, parity: 0, beta, inverse: true)
    liftRows(temp, stride: w, width: w, height: h, parity: 1, alpha, inverse: true)
    for y in 0..<h { (base + y * stride).update(from: temp + y * w, count: w) }
  }

  /// A lifting step along columns, a row at a time: every row of the given parity gains (or
  /// loses) `c` times the sum of its two neighbouring rows, mirrored at the ends.
  @inline(__always)
  static func liftRows(_ base: UnsafeMutablePointer<Int>, stride: Int, width w: Int, height h: Int, parity: Int, _ c: Int,
                       inverse: Bool) {
    var y = parity
    while y < h {
      let target = base + y * stride
      let above = base + (y == 0 ? 1 : y - 1) * stride  // whole-sample symmetric extension
      let below = base + (y + 1 < h ? y + 1 : h - 2) * stride
      if inverse {
        for x in 0..<w { target[x] &-= (c &* (above[x] &+ below[x]) &+ half) >> fractionBits }
      } else {
        for x in 0..<w { target[x] &+= (c &* (above[x] &+ below[x]) &+ half) >> fractionBits }
      }
      y += 2
    }
  }
}
