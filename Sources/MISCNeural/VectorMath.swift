/// Elementwise kernels written so that the compiler vectorises them: an `exp` without the libm call,
/// and sums with independent accumulators (a single running sum cannot be reordered into SIMD lanes).
public enum VectorMath {
  /// e^x to about 1 ulp (relative error ≤ 1.2e-7 against libm's `expf`) for x in [-87.3, 88]; below it
  /// returns the smallest normal (≈ 1.2e-38), above it e^88. Cephes' `expf` polynomial, with the
  /// 2^n scale built from the exponent bits, so a loop of it compiles to AVX without a call.
  @inlinable @inline(__always)
  public static func exp(_ value: Float) -> Float {
    let x = value < -87.33654 ? -87.33654 : (value > 88 ? 88 : value)
    // Adding 1.5 · 2^23 rounds x·log2(e) to the nearest integer n, left in the low mantissa bits.
    let magic: Float = 12_582_912
    let t = x * 1.44269504088896341 + magic
    let n = t - magic
    // x − n·ln 2, with ln 2 split in two so that the product is exact.
    let r = x - n * 0.693359375 - n * (-2.12194440e-4)
    var p: Float = 1.9875691500e-4
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let y = p * r * r + r + 1
    return y * Float(bitPattern: (t.bitPattern &- magic.bitPattern &+ 127) &<< 23)
  }

  /// The sum of `count` values, in eight interleaved partial sums.
  @inlinable
  public static func sum(_ values: UnsafePointer<Float>, count: Int) -> Float {
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0, s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
    var i = 0
    while i + 8 <= count {
      s0 += values[i]; s1 += values[i + 1]; s2 += values[i + 2]; s3 += values[i + 3]
      s4 += values[i + 4]; s5 += values[i + 5]; s6 += values[i + 6]; s7 += values[i + 7]
      i += 8
    }
    while i < count { s0 += values[i]; i += 1 }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
  }

  /// Σ (values[i] − center)², in eight interleaved partial sums.
  @inlinable
  public static func sumOfSquares(_ values: UnsafePointer<Float>, count: Int, center: Float) -> Float {
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0, s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
    var i = 0
    while i + 8 <= count {
      let d0 = values[i] - center, d1 = values[i + 1] - center, d2 = values[i + 2] - center, d3 = values[i + 3] - center
      let d4 = values[i + 4] - center, d5 = values[i + 5] - center, d6 = values[i + 6] - center, d7 = values[i + 7] - center
      s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3
      s4 += d4 * d4; s5 += d5 * d5; s6 += d6 * d6; s7 += d7 * d7
      i += 8
    }
    while i < count { let d = values[i] - center; s0 += d * d; i += 1 }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
  }

  /// The largest of `count` values (at least one).
  @inlinable
  public static func maximum(_ values: UnsafePointer<Float>, count: Int) -> Float {
    var m0 = values[0], m1 = values[0], m2 = values[0], m3 = values[0]
    var i = 0
    while i + 4 <= count {
      m0 = values[i] > m0 ? values[i] : m0
      m1 = values[i + 1] > m1 ? values[i + 1] : m1
      m2 = values[i + 2] > m2 ? values[i + 2] : m2
      m3 = values[i + 3] > m3 ? values[i + 3] : m3
      i += 4
    }
    while i < count { m0 = values[i] > m0 ? values[i] : m0; i += 1 }
    return Swift.max(Swift.max(m0, m1), Swift.max(m2, m3))
  }
}
