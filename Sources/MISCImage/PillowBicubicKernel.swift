/// Pillow's fixed-point bicubic coefficients for one axis (`precompute_coeffs` followed by
/// `normalize_coeffs_8bpc` in Pillow's Resample.c), reproduced operation for operation.
struct PillowBicubicKernel {
  /// Fractional bits of a coefficient: 32 - 8 - 2, leaving room for 8-bit data and overshoot.
  static let precisionBits = 22
  /// Added before the final shift so it rounds to nearest.
  static let rounding = 1 << (precisionBits - 1)

  let outputSize: Int
  /// Coefficients per output, the row stride of `coefficients`.
  let ksize: Int
  /// First source index of each output (already minus `shift`).
  let starts: [Int]
  /// Number of source samples of each output.
  let counts: [Int]
  /// [outputSize, ksize] fixed-point weights.
  let coefficients: [Int]

  /// The source indices any output reads (before `shift`).
  var sourceRange: Range<Int> {
    (starts.first ?? 0)..<((starts.last ?? 0) + (counts.last ?? 0))
  }

  init(inputSize: Int, outputSize: Int, shift: Int = 0) {
    self.outputSize = outputSize
    // Pillow passes the box edges as C floats, so the input extent goes through Float.
    let scale = Double(Float(inputSize)) / Double(outputSize)
    let filterScale = max(scale, 1.0)
    let support = 2.0 * filterScale
    let ksize = Int(support.rounded(.up)) * 2 + 1
    self.ksize = ksize
    let inverseScale = 1.0 / filterScale
    var starts = [Int](), counts = [Int]()
    var coefficients = [Int](repeating: 0, count: outputSize * ksize)
    var weights = [Double](repeating: 0, count: ksize)
    for xx in 0..<outputSize {
      let center = (Double(xx) + 0.5) * scale
      // C's (int) conversion truncates toward zero, as Int(_: Double) does.
      let xmin = max(Int(center - support + 0.5), 0)
      let xmax = min(Int(center + support + 0.5), inputSize) - xmin
      var total = 0.0
      for x in 0..<xmax {
        let w = Self.cubic((Double(x + xmin) - center + 0.5) * inverseScale)
        weights[x] = w
        total += w
      }
      for x in 0..<xmax {
        let w = total != 0.0 ? weights[x] / total : weights[x]
        let scaled = w * Double(1 << Self.precisionBits)
        coefficients[xx * ksize + x] = w < 0 ? Int(-0.5 + scaled) : Int(0.5 + scaled)
      }
      starts.append(xmin - shift)
      counts.append(xmax)
    }
    self.starts = starts
    self.counts = counts
    self.coefficients = coefficients
  }

  /// The cubic convolution kernel with a = -0.5, in Pillow's exact operation order.
  @inline(__always)
  static func cubic(_ value: Double) -> Double {
    let a = -0.5
    let x = value < 0.0 ? -value : value
    if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
    if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
    return 0.0
  }

  /// A fixed-point sum back to 8 bits, clamped (Pillow's clip8).
  @inline(__always)
  static func clip8(_ sum: Int) -> UInt8 {
    let value = sum >> precisionBits
    return value < 0 ? 0 : value > 255 ? 255 : UInt8(value)
  }

  /// The same for a 32-bit sum (Pillow's own accumulator width).
  @inline(__always)
  static func clip8(_ sum: Int32) -> UInt8 {
    UInt8(truncatingIfNeeded: min(max(sum >> Int32(precisionBits), 0), 255))
  }
}
