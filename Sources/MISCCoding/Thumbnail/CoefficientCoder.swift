/// Context-adaptive binary coding of quantised wavelet coefficients for the three colour planes.
///
/// The low band is coded as MED-predicted residuals. Detail coefficients are coded band by band,
/// coarsest first, with a per-band "all zero" flag. Each coefficient's significance is coded
/// in a context built from its causal neighbours, its parent one level up and (for chroma) the
/// co-located luma coefficient; magnitudes use greater-than-1/2 flags and an adaptive
/// Exp-Golomb escape. Integer models only.
/// What the encoder needs to choose coefficient levels by rate and distortion.
struct RateDistortionSearch {
  /// The unquantised coefficients of each plane.
  var original: [[Int]]
  var steps: [Int]
  /// How far below `level · step` a nonzero detail coefficient is reconstructed, per plane.
  var biases: [Int]
  /// Each plane's weight in the RGB squared error.
  var weights: [Double]
  /// Squared error (in coefficient units, weighted) one bit is worth.
  var lambda: Double
}

struct CoefficientCoder {
  /// The largest coefficient magnitude a stream may carry; larger ones are rejected as corrupt.
  static let maxMagnitude = 1 << 17
  static let maxPrefix = 18

  var lowZero = [AdaptiveBit](repeating: AdaptiveBit(p1: 16384), count: 6)
  var lowSign = [AdaptiveBit](repeating: AdaptiveBit(), count: 2)
  var lowPrefix = [AdaptiveBit](repeating: AdaptiveBit(p1: 40000), count: 2 * (maxPrefix + 1))
  var bandEmpty = [AdaptiveBit](repeating: AdaptiveBit(p1: 20000), count: 2 * 3)
  var zero = [AdaptiveBit](repeating: AdaptiveBit(p1: 8000, limit: 6), count: 3 * 3 * 3 * 6 * 2)
  var greaterOne = [AdaptiveBit](repeating: AdaptiveBit(p1: 20000), count: 3 * 6 * 2)
  var greaterTwo = [AdaptiveBit](repeating: AdaptiveBit(p1: 24000), count: 3 * 6)
  var prefix = [AdaptiveBit](repeating: AdaptiveBit(p1: 30000), count: 2 * (maxPrefix + 1))
  var sign = [AdaptiveBit](repeating: AdaptiveBit(), count: 3 * 3)

  /// Code the planes `q` (Mallat layout, `layout.width × layout.height` each). When encoding,
  /// `q` holds the values; when decoding, it must be all zeros and receives them.
  /// Returns false if the stream is malformed.
  mutating func code<IO: EntropyIO>(_ io: inout IO, _ q: inout [[Int]], layout: SubbandLayout, search: RateDistortionSearch? = nil) -> Bool {
    let width = layout.width
    for c in 0..<q.count {
      guard codeLowBand(&io, &q[c], channel: c, layout: layout) else { return false }
    }
    for band in layout.bands {
      let levelClass = min(band.level, 2)
      for c in 0..<q.count {
        let chromaClass = c == 0 ? 0 : 1
        var empty = true
        for v in 0..<band.height where empty {
          for u in 0..<band.width where q[c][(band.y0 + v) * width + band.x0 + u] != 0 { empty = false; break }
        }
        if io.bit(empty, &bandEmpty[chromaClass * 3 + levelClass]) { continue }
        let parentBand = band.parent >= 0 ? layout.bands[band.parent] : nil
        for v in 0..<band.height {
          for u in 0..<band.width {
            let index = (band.y0 + v) * width + band.x0 + u
            // Causal neighbourhood inside the band.
            let left = u > 0 ? min(abs(q[c][index - 1]), 3) : 0
            let up = v > 0 ? min(abs(q[c][index - width]), 3) : 0
            let upLeft = (u > 0 && v > 0) ? min(abs(q[c][index - width - 1]), 3) : 0
            let upRight = (u + 1 < band.width && v > 0) ? min(abs(q[c][index - width + 1]), 3) : 0
            let sum = 2 * (left + up) + upLeft + upRight
            let magClass = sum == 0 ? 0 : sum == 1 ? 1 : sum == 2 ? 2 : sum <= 4 ? 3 : sum <= 7 ? 4 : 5
            var parentClass = 0
            if let p = parentBand {
              let pu = min(u >> 1, p.width - 1), pv = min(v >> 1, p.height - 1)
              parentClass = min(abs(q[c][(p.y0 + pv) * width + p.x0 + pu]), 2)
            }
            let channelClass = c == 0 ? 0 : (q[0][index] == 0 ? 1 : 2)
            let orientationClass = band.orientation == 2 ? 1 : 0
            let zeroContext = (((levelClass * 3 + channelClass) * 3 + parentClass) * 6 + magClass) * 2 + orientationClass
            let magnitudeContext = channelClass * 6 + magClass
            let signContext = channelClass * 3 + band.orientation
            var value = q[c][index]
            if let search {
              value = choose(search, channel: c, index: index, zeroContext: zeroContext, magnitudeContext: magnitudeContext,
                             strongParent: parentClass == 2, signContext: signContext, chroma: chromaClass)
              q[c][index] = value
            }
            if !io.bit(value != 0, &zero[zeroContext]) { continue }
            var magnitude = 1
            if io.bit(abs(value) > 1, &greaterOne[magnitudeContext * 2 + (parentClass == 2 ? 1 : 0)]) {
              magnitude = 2
              if io.bit(abs(value) > 2, &greaterTwo[magnitudeContext]) {
                guard let rest = Self.codeExpGolomb(&io, abs(value) - 3, models: &prefix, base: chromaClass * (Self.maxPrefix + 1))
                else { return false }
                magnitude = 3 + rest
              }
            }
            let negative = io.bit(value < 0, &sign[signContext])
            q[c][index] = negative ? -magnitude : magnitude
          }
        }
      }
    }
    return true
  }

  /// The encoder's choice for one detail coefficient: among the nearest level, one level less
  /// and zero, the one with the least distortion + λ·rate under the current model state.
  private func choose(_ search: RateDistortionSearch, channel c: Int, index: Int, zeroContext: Int, magnitudeContext: Int,
                      strongParent: Bool, signContext: Int, chroma: Int) -> Int {
    let original = search.original[c][index]
    let step = search.steps[c]
    let nearest = (abs(original) + step / 2) / step
    if nearest == 0 { return 0 }
    let weight = search.weights[c]
    let bias = search.biases[c]
    var best = 0
    var bestCost = Double(original) * Double(original) * weight + search.lambda * cost(zero[zeroContext], false)
    for m in stride(from: nearest, through: max(1, nearest - 1), by: -1) {
      let error = Double(abs(original) - (m * step - bias))
      var bits = cost(zero[zeroContext], true) + cost(sign[signContext], original < 0)
      bits += cost(greaterOne[magnitudeContext * 2 + (strongParent ? 1 : 0)], m > 1)
      if m > 1 {
        bits += cost(greaterTwo[magnitudeContext], m > 2)
        if m > 2 {
          let n = m - 2
          let length = Int.bitWidth - n.leadingZeroBitCount - 1
          let base = chroma * (Self.maxPrefix + 1)
          for k in 0...length { bits += cost(prefix[base + min(k, Self.maxPrefix)], k < length) }
          bits += Double(length)
        }
      }
      let total = error * error * weight + search.lambda * bits
      if total < bestCost {
        bestCost = total
        best = m
      }
    }
    return original < 0 ? -best : best
  }

  @inline(__always)
  private func cost(_ model: AdaptiveBit, _ bit: Bool) -> Double {
    let p = Int(model.p1)
    return Double(BitCost.table[(bit ? p : 65536 - p) >> 6]) / 65536
  }

  /// The low band as residuals from the median edge predictor over quantised neighbours.
  private mutating func codeLowBand<IO: EntropyIO>(_ io: inout IO, _ plane: inout [Int], channel c: Int, layout: SubbandLayout) -> Bool {
    let width = layout.width
    let chromaClass = c == 0 ? 0 : 1
    for y in 0..<layout.lowHeight {
      for x in 0..<layout.lowWidth {
        let index = y * width + x
        let prediction: Int
        var activity = 0
        if x > 0 && y > 0 {
          let a = plane[index - 1], b = plane[index - width], d = plane[index - width - 1]
          prediction = d >= max(a, b) ? min(a, b) : d <= min(a, b) ? max(a, b) : a + b - d
          activity = min(abs(a - d) + abs(b - d), 2)
        } else if x > 0 {
          prediction = plane[index - 1]
        } else if y > 0 {
          prediction = plane[index - width]
        } else {
          prediction = 0
        }
        let residual = plane[index] - prediction
        if !io.bit(residual != 0, &lowZero[chromaClass * 3 + activity]) {
          plane[index] = prediction
          continue
        }
        let negative = io.bit(residual < 0, &lowSign[chromaClass])
        guard let rest = Self.codeExpGolomb(&io, abs(residual) - 1, models: &lowPrefix, base: chromaClass * (Self.maxPrefix + 1))
        else { return false }
        let value = prediction + (negative ? -(rest + 1) : rest + 1)
        guard abs(value) <= Self.maxMagnitude else { return false }
        plane[index] = value
      }
    }
    return true
  }

  /// Exp-Golomb (order 0) of `value ≥ 0`: an adaptive unary prefix, then raw suffix bits.
  private static func codeExpGolomb<IO: EntropyIO>(_ io: inout IO, _ value: Int, models: inout [AdaptiveBit], base: Int) -> Int? {
    let n = value + 1
    let bits = Int.bitWidth - n.leadingZeroBitCount - 1  // ⌊log2 n⌋ when encoding
    var length = 0
    while io.bit(length < bits, &models[base + min(length, Self.maxPrefix)]) {
      length += 1
      if length > Self.maxPrefix { return nil }
    }
    let suffix = Int(io.raw(UInt32(truncatingIfNeeded: n), count: length))
    let result = ((1 << length) | suffix) - 1
    return result <= Self.maxMagnitude ? result : nil
  }
}

extension CoefficientCoder {
  /// Every model, in a fixed order (the order of the prior tables).
  var models: [AdaptiveBit] {
    lowZero + lowSign + lowPrefix + bandEmpty + zero + greaterOne + greaterTwo + prefix + sign
  }

  static let modelCount = CoefficientCoder().models.count

  /// A coder whose models start from `priors` (probabilities of a 1, out of 65536) with the
  /// confidence of `confidence` earlier observations.
  init(priors: ArraySlice<UInt16>, confidence: UInt8) {
    self.init()
    var source = priors.makeIterator()
    func load(_ models: inout [AdaptiveBit]) {
      for i in models.indices {
        let limit = Int(models[i].limit)
        models[i] = AdaptiveBit(p1: UInt32(source.next() ?? 32768), limit: limit)
        models[i].count = confidence
      }
    }
    load(&lowZero); load(&lowSign); load(&lowPrefix); load(&bandEmpty); load(&zero)
    load(&greaterOne); load(&greaterTwo); load(&prefix); load(&sign)
  }
}
