/// Context-adaptive binary coding of quantised wavelet coefficients for the three colour planes.
///
/// The low band is coded as MED-predicted residuals. Detail coefficients are coded band by band,
/// coarsest first, with a per-band "all zero" flag. A coefficient's significance is the mix of
/// four adaptive models in a logistic mixer: a fine context (causal neighbours, parent and its
/// neighbours, the sibling bands at the same position, the co-located luma), a coarse activity
/// sum over a wider neighbourhood, the band itself, and (format version 3) the gradient of the
/// decoded approximation at the band's level. Magnitudes use greater-than-1 (mixed the same way)
/// and greater-than-2 flags and an Exp-Golomb escape with adaptive prefix and leading
/// suffix bit; signs are coded in contexts of the neighbouring and co-located signs. Integer
/// models and integer mixing only: the decoder computes every probability exactly.

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
  /// A band is left empty when that costs less than `emptyBandFactor`⁻¹ times coding it.
  var emptyBandFactor: Double = 0.9
  /// Bands with more nonzero levels than this are always coded (the check would almost never
  /// empty them, and it costs a trial coding).
  var emptyBandTrialLimit = 16
}

struct CoefficientCoder {
  /// The largest coefficient magnitude a stream may carry; larger ones are rejected as corrupt.
  static let maxMagnitude = 1 << 17
  static let maxPrefix = 18

  // Context counts (see `code` for how each index is formed).
  static let levelClasses = 3
  static let channelClasses = 3
  static let mixerSets = levelClasses * channelClasses
  static let activityClasses = 10
  static let escapeClasses = 6
  static let bandSlots = 24
  static let gradientClasses = 7

  var lowZero = [AdaptiveBit](repeating: AdaptiveBit(p1: 16384), count: 6)
  var lowSign = [AdaptiveBit](repeating: AdaptiveBit(), count: 2)
  var lowPrefix = [AdaptiveBit](repeating: AdaptiveBit(p1: 40000), count: 2 * (maxPrefix + 1))
  var bandEmpty = [AdaptiveBit](repeating: AdaptiveBit(p1: 20000), count: 2 * 3)
  /// Significance, fine context: sibling (3) × level (3) × channel (3) × parent (4) × neighbours (6) × HH-or-not (2).
  var zero = [AdaptiveBit](repeating: AdaptiveBit(p1: 8000, limit: 6), count: 3 * levelClasses * channelClasses * 4 * 6 * 2)
  /// Significance, coarse context: level × channel × wide-neighbourhood activity.
  var zeroActivity = [AdaptiveBit](repeating: AdaptiveBit(p1: 8000, limit: 6), count: mixerSets * activityClasses)
  /// Significance, per band and plane.
  var zeroBand = [AdaptiveBit](repeating: AdaptiveBit(p1: 8000, limit: 5), count: 3 * bandSlots)
  /// Greater than 1: level × channel × neighbours (6) × strong parent (2), and level × channel × activity.
  var greaterOne = [AdaptiveBit](repeating: AdaptiveBit(p1: 20000), count: mixerSets * 6 * 2)
  var greaterOneActivity = [AdaptiveBit](repeating: AdaptiveBit(p1: 20000), count: mixerSets * activityClasses)
  /// Greater than 2: level × channel × neighbours (6).
  var greaterTwo = [AdaptiveBit](repeating: AdaptiveBit(p1: 24000), count: mixerSets * 6)
  /// The escape's unary prefix and its leading suffix bit, per neighbourhood magnitude class.
  var escapePrefix = [AdaptiveBit](repeating: AdaptiveBit(p1: 30000), count: escapeClasses * (maxPrefix + 1))
  var escapeLeading = [AdaptiveBit](repeating: AdaptiveBit(p1: 28000), count: escapeClasses * (maxPrefix + 1))
  /// Signs: luma 27 (orientation × west sign × north sign), Co 81 (orientation × luma sign × west × north),
  /// Cg 27 (orientation × luma sign × Co sign).
  var sign = [AdaptiveBit](repeating: AdaptiveBit(), count: 27 + 81 + 27)
  /// Significance and greater-than-1 by the local gradient of the decoded approximation at the
  /// band's level: level × channel × orientation × gradient class.
  var zeroGradient = [AdaptiveBit](repeating: AdaptiveBit(p1: 8000, limit: 6), count: mixerSets * 3 * gradientClasses)
  var greaterOneGradient = [AdaptiveBit](repeating: AdaptiveBit(p1: 20000), count: mixerSets * 3 * gradientClasses)
  var zeroMixer: LogisticMixer
  var greaterOneMixer: LogisticMixer

  /// Whether the gradient models feed the mixers (format version 3 on). Without them the coder
  /// is version 2's bit for bit: their inputs are held at p = 1/2, whose stretch is 0.
  let gradientContexts: Bool
  /// The quantiser the gradient contexts dequantise with (nil only for the model-counting coder).
  let quantiser: FormatProfile.Thumbnail?

  /// Per plane, the decoded approximation (the low-pass image) at the level being coded,
  /// `approximationWidth × approximationHeight` row-major: edges in it predict detail there.
  private var approximation: [[Int]] = []
  private var approximationWidth = 0
  private var approximationHeight = 0
  private var approximationLevel = -1

  /// A coder with untrained models: the mixers start from the given weights.
  init(gradientContexts: Bool, zeroMixerWeights: [Int32], greaterOneMixerWeights: [Int32],
       quantiser: FormatProfile.Thumbnail? = nil) {
    self.gradientContexts = gradientContexts
    self.quantiser = quantiser
    zeroMixer = LogisticMixer(sets: Self.mixerSets, initial: zeroMixerWeights)
    greaterOneMixer = LogisticMixer(sets: Self.mixerSets, initial: greaterOneMixerWeights)
  }

  /// A coder with untrained models, shaped by a profile (no priors loaded).
  init(untrained profile: FormatProfile.Thumbnail) {
    self.init(gradientContexts: profile.gradientContexts, zeroMixerWeights: profile.zeroMixerWeights,
              greaterOneMixerWeights: profile.greaterOneMixerWeights, quantiser: profile)
  }

  /// The untrained coder of the current format (prior training starts here).
  init() {
    self.init(untrained: FormatProfile.current.thumbnail)
  }

  /// Code the planes `q` (Mallat layout, `layout.width × layout.height` each). When encoding,
  /// `q` holds the values; when decoding, it must be all zeros and receives them.
  /// Returns false if the stream is malformed.
  mutating func code<IO: EntropyIO>(_ io: inout IO, _ q: inout [[Int]], layout: SubbandLayout, steps: [Int],
                                    search: RateDistortionSearch? = nil) -> Bool {
    let width = layout.width
    for c in 0..<q.count {
      guard codeLowBand(&io, &q[c], channel: c, layout: layout) else { return false }
    }
    for (bandIndex, band) in layout.bands.enumerated() {
      if gradientContexts && band.level != approximationLevel {
        updateApproximations(q, layout: layout, steps: steps, level: band.level)
      }
      let emptyBase = min(band.level, 2)
      for c in 0..<q.count {
        let emptyContext = (c == 0 ? 0 : 3) + emptyBase
        var nonzero = 0
        for v in 0..<band.height {
          for u in 0..<band.width where q[c][(band.y0 + v) * width + band.x0 + u] != 0 { nonzero += 1 }
        }
        var empty = nonzero == 0
        var gradients: [UInt8]? = nil
        if let search, !empty, nonzero <= search.emptyBandTrialLimit {
          let map = gradientMap(channel: c, band: band, step: steps[c])
          gradients = map
          if leaveEmpty(&q, layout: layout, bandIndex: bandIndex, channel: c, gradients: map, search: search, emptyContext: emptyContext) {
            for v in 0..<band.height {
              for u in 0..<band.width { q[c][(band.y0 + v) * width + band.x0 + u] = 0 }
            }
            empty = true
          }
        }
        if io.bit(empty, &bandEmpty[emptyContext]) { continue }
        var distortion = 0.0
        guard codeBand(&io, &q, layout: layout, bandIndex: bandIndex, channel: c,
                       gradients: gradients ?? gradientMap(channel: c, band: band, step: steps[c]),
                       search: search, distortion: &distortion) else {
          return false
        }
      }
    }
    return true
  }

  /// Moves each plane's approximation to `level`: the coarsest detail level's is the low band;
  /// each finer one inverts one wavelet level over the previous approximation and the detail
  /// bands just decoded (bit for bit what inverting every coarser level at once gives).
  private mutating func updateApproximations(_ q: [[Int]], layout: SubbandLayout, steps: [Int], level: Int) {
    let sizes = Wavelet97.regionSizes(width: layout.width, height: layout.height, levels: layout.levels)
    let (w, h) = sizes[level + 1]
    let incremental = approximationLevel == level + 1 && approximation.count == q.count
    approximation = q.indices.map { c in
      var region = ThumbnailCodec.dequantise(q[c], step: steps[c], layout: layout, profile: quantiser!, width: w, height: h)
      if incremental {
        let previous = approximation[c]
        for y in 0..<approximationHeight {
          for x in 0..<approximationWidth { region[y * w + x] = previous[y * approximationWidth + x] }
        }
        Wavelet97.inverse(&region, width: w, height: h, levels: 1)
      } else {
        Wavelet97.inverse(&region, width: w, height: h, levels: layout.levels - level - 1)
      }
      return region
    }
    approximationWidth = w
    approximationHeight = h
    approximationLevel = level
  }

  /// The gradient class (0…6) of every coefficient of `band` in plane `c`, row-major: how much
  /// the approximation at the band's level changes across the coefficient's position (along x
  /// for HL, along y for LH, both diagonals for HH), in octaves from a quarter of `step`.
  private func gradientMap(channel c: Int, band: SubbandLayout.Band, step: Int) -> [UInt8] {
    let w = approximationWidth, h = approximationHeight
    precondition(Self.gradientClasses == 7)
    let t1 = step, t2 = step << 1, t3 = step << 2, t4 = step << 3, t5 = step << 4, t6 = step << 5
    var classes = [UInt8](repeating: 0, count: band.width * band.height)
    guard gradientContexts else { return classes }
    approximation[c].withUnsafeBufferPointer { a in
      classes.withUnsafeMutableBufferPointer { out in
        // Branch-free: how many of the thresholds g reaches.
        @inline(__always) func store(_ index: Int, _ g: Int) {
          var n = (g >= t1 ? 1 : 0) + (g >= t2 ? 1 : 0) + (g >= t3 ? 1 : 0)
          n += (g >= t4 ? 1 : 0) + (g >= t5 ? 1 : 0) + (g >= t6 ? 1 : 0)
          out[index] = UInt8(truncatingIfNeeded: n)
        }
        for v in 0..<band.height {
          let row = min(v, h - 1) * w, below = min(v + 1, h - 1) * w
          for u in 0..<band.width {
            let x = min(u, w - 1), right = min(u + 1, w - 1)
            let index = v * band.width + u
            switch band.orientation {
            case 0: store(index, 4 * abs(a[row + right] - a[row + x]))
            case 1: store(index, 4 * abs(a[below + x] - a[row + x]))
            default: store(index, 2 * (abs(a[below + right] - a[row + x]) + abs(a[row + right] - a[below + x])))
            }
          }
        }
      }
    }
    return classes
  }

  /// The encoder's whole-band decision: true when leaving the band empty costs less (distortion
  /// + λ·rate) than coding it, measured by coding it on a copy of the models. `q` is left as it
  /// was (the trial coding's choices are undone).
  private func leaveEmpty(_ q: inout [[Int]], layout: SubbandLayout, bandIndex: Int, channel c: Int, gradients: [UInt8],
                          search: RateDistortionSearch, emptyContext: Int) -> Bool {
    let band = layout.bands[bandIndex]
    var zeroDistortion = 0.0
    for v in 0..<band.height {
      for u in 0..<band.width {
        let o = Double(search.original[c][(band.y0 + v) * layout.width + band.x0 + u])
        zeroDistortion += o * o
      }
    }
    zeroDistortion *= search.weights[c]
    let model = bandEmpty[emptyContext]
    let zeroCost = (zeroDistortion + search.lambda * cost(model.p1, true)) * search.emptyBandFactor
    // The trial codes the band in place (only this band of plane c changes), then puts it back:
    // cheaper than coding a copy of the whole plane.
    var saved = [Int](repeating: 0, count: band.width * band.height)
    for v in 0..<band.height {
      for u in 0..<band.width { saved[v * band.width + u] = q[c][(band.y0 + v) * layout.width + band.x0 + u] }
    }
    var trial = self
    var counter = CostIO()
    var distortion = 0.0
    _ = trial.codeBand(&counter, &q, layout: layout, bandIndex: bandIndex, channel: c, gradients: gradients, search: search,
                       distortion: &distortion)
    for v in 0..<band.height {
      for u in 0..<band.width { q[c][(band.y0 + v) * layout.width + band.x0 + u] = saved[v * band.width + u] }
    }
    return zeroCost <= distortion + search.lambda * (Double(counter.cost) / 65536 + cost(model.p1, false))
  }

  /// One detail band of plane `c` whose band-empty flag said "not empty". When encoding with a
  /// search, chooses each level and adds its weighted squared error to `distortion`.
  private mutating func codeBand<IO: EntropyIO>(_ io: inout IO, _ q: inout [[Int]], layout: SubbandLayout, bandIndex: Int, channel c: Int,
                                                gradients: [UInt8], search: RateDistortionSearch?, distortion: inout Double) -> Bool {
    let width = layout.width
    let band = layout.bands[bandIndex]
    let levelClass = min(band.level, 2)
    let parentBand = band.parent >= 0 ? layout.bands[band.parent] : nil
    // The same level's bands already coded (HL before LH before HH), for sibling contexts.
    let siblings = layout.bands.filter { $0.level == band.level && $0.orientation < band.orientation }
    let slot = c * Self.bandSlots + min(bandIndex, Self.bandSlots - 1)
    let orientationClass = band.orientation == 2 ? 1 : 0
    // Work on the plane moved out of `q` (no copy on write); luma and Co are read-only here.
    var plane = q[c]
    q[c] = []
    defer { q[c] = plane }
    let luma = c > 0 ? q[0] : [], co = c > 1 ? q[1] : []
    for v in 0..<band.height {
      for u in 0..<band.width {
        let index = (band.y0 + v) * width + band.x0 + u
        // Causal neighbours inside the band, capped at 3 (fine context) and at 4 (activity).
        let west = u > 0 ? abs(plane[index - 1]) : 0
        let north = v > 0 ? abs(plane[index - width]) : 0
        let northWest = u > 0 && v > 0 ? abs(plane[index - width - 1]) : 0
        let northEast = u + 1 < band.width && v > 0 ? abs(plane[index - width + 1]) : 0
        let sum = 2 * (min(west, 3) + min(north, 3)) + min(northWest, 3) + min(northEast, 3)
        let neighbourClass = sum == 0 ? 0 : sum == 1 ? 1 : sum == 2 ? 2 : sum <= 4 ? 3 : sum <= 7 ? 4 : 5
        var activity = 2 * (min(west, 4) + min(north, 4)) + min(northWest, 4) + min(northEast, 4)
        if u > 1 { activity += min(abs(plane[index - 2]), 4) }
        if v > 1 { activity += min(abs(plane[index - 2 * width]), 4) }
        var escapeSum = west + north + northWest + northEast

        // The parent one level up: its magnitude, or whether its 4-neighbourhood is active.
        var parentClass = 0
        var strongParent = false
        if let p = parentBand {
          let pu = min(u >> 1, p.width - 1), pv = min(v >> 1, p.height - 1)
          let pi = (p.y0 + pv) * width + p.x0 + pu
          let parent = abs(plane[pi])
          strongParent = parent >= 2
          escapeSum += 2 * parent
          activity += 2 * min(parent, 4)
          let right = pu + 1 < p.width ? abs(plane[pi + 1]) : 0
          let below = pv + 1 < p.height ? abs(plane[pi + width]) : 0
          activity += min(right, 2) + min(below, 2)
          if parent > 0 {
            parentClass = min(parent, 2) + 1
          } else {
            let left = pu > 0 ? abs(plane[pi - 1]) : 0
            let above = pv > 0 ? abs(plane[pi - width]) : 0
            parentClass = left + right + above + below > 0 ? 1 : 0
          }
        }
        var siblingSum = 0
        for s in siblings {
          let m = abs(plane[(s.y0 + min(v, s.height - 1)) * width + s.x0 + min(u, s.width - 1)])
          siblingSum += m
          activity += min(m, 3)
        }
        let siblingClass = min(siblingSum, 2)
        if c > 0 { activity += 2 * min(abs(luma[index]), 3) }
        let channelClass = c == 0 ? 0 : (luma[index] == 0 ? 1 : 2)
        let set = levelClass * 3 + channelClass
        let activityClass = activity == 0 ? 0 : activity <= 3 ? activity : activity <= 5 ? 4 : activity <= 7 ? 5
          : activity <= 10 ? 6 : activity <= 14 ? 7 : activity <= 20 ? 8 : 9
        let zeroContext = ((((siblingClass * 3 + levelClass) * 3 + channelClass) * 4 + parentClass) * 6 + neighbourClass) * 2 + orientationClass
        let activityContext = set * Self.activityClasses + activityClass
        let magnitudeContext = set * 6 + neighbourClass
        let greaterOneContext = magnitudeContext * 2 + (strongParent ? 1 : 0)
        let escapeClass = escapeSum < 3 ? 0 : escapeSum < 6 ? 1 : escapeSum < 10 ? 2 : escapeSum < 16 ? 3 : escapeSum < 28 ? 4 : 5
        // The sign context is formed only when a sign may be coded (or costed): most levels are 0.
        var signContext = -1

        let gradientContext = (set * 3 + band.orientation) * Self.gradientClasses + Int(gradients[v * band.width + u])
        // The mixers' inputs, stretched once for mixing and for the update.
        let zeroInputs = (LogisticMixer.stretch(zero[zeroContext].p1), LogisticMixer.stretch(zeroActivity[activityContext].p1),
                          LogisticMixer.stretch(zeroBand[slot].p1),
                          gradientContexts ? LogisticMixer.stretch(zeroGradient[gradientContext].p1) : LogisticMixer.stretchedHalf)
        let pNonzero = zeroMixer.mix(set: set, zeroInputs.0, zeroInputs.1, zeroInputs.2, zeroInputs.3)
        var value = plane[index]
        if let search {
          let step = search.steps[c]
          if abs(search.original[c][index]) + step / 2 < step {
            value = 0  // the nearest level is 0, and so is the choice
          } else {
            signContext = Self.signContext(plane, luma, co, channel: c, index: index, width: width, u: u, v: v, orientation: band.orientation)
            value = choose(search, channel: c, index: index, pNonzero: pNonzero, greaterOneContext: greaterOneContext,
                           magnitudeContext: magnitudeContext, signContext: signContext, escapeClass: escapeClass)
          }
          plane[index] = value
          let o = Double(search.original[c][index])
          let e = value == 0 ? o : abs(o) - Double(abs(value) * search.steps[c] - search.biases[c])
          distortion += e * e * search.weights[c]
        }
        let significant = io.bit(value != 0, p1: pNonzero)
        zero[zeroContext].update(significant)
        zeroActivity[activityContext].update(significant)
        zeroBand[slot].update(significant)
        if gradientContexts { zeroGradient[gradientContext].update(significant) }
        zeroMixer.update(set: set, significant, pNonzero, zeroInputs.0, zeroInputs.1, zeroInputs.2, zeroInputs.3)
        if !significant { continue }

        var magnitude = 1
        let oneInputs = (LogisticMixer.stretch(greaterOne[greaterOneContext].p1), LogisticMixer.stretch(greaterOneActivity[activityContext].p1),
                         gradientContexts ? LogisticMixer.stretch(greaterOneGradient[gradientContext].p1) : LogisticMixer.stretchedHalf)
        let pGreaterOne = greaterOneMixer.mix(set: set, oneInputs.0, oneInputs.1, oneInputs.2)
        let greater = io.bit(abs(value) > 1, p1: pGreaterOne)
        greaterOne[greaterOneContext].update(greater)
        greaterOneActivity[activityContext].update(greater)
        if gradientContexts { greaterOneGradient[gradientContext].update(greater) }
        greaterOneMixer.update(set: set, greater, pGreaterOne, oneInputs.0, oneInputs.1, oneInputs.2)
        if greater {
          magnitude = 2
          if io.bit(abs(value) > 2, &greaterTwo[magnitudeContext]) {
            guard let rest = codeEscape(&io, abs(value) - 3, base: escapeClass * (Self.maxPrefix + 1)) else { return false }
            magnitude = 3 + rest
          }
        }
        if signContext < 0 {
          signContext = Self.signContext(plane, luma, co, channel: c, index: index, width: width, u: u, v: v, orientation: band.orientation)
        }
        let negative = io.bit(value < 0, &sign[signContext])
        plane[index] = negative ? -magnitude : magnitude
      }
    }
    return true
  }

  /// The sign context: luma by the west and north signs; Co by the co-located luma sign and its
  /// own west and north signs; Cg by the co-located luma and Co signs.
  @inline(__always)
  private static func signContext(_ plane: [Int], _ luma: [Int], _ co: [Int], channel c: Int, index: Int, width: Int,
                                  u: Int, v: Int, orientation: Int) -> Int {
    @inline(__always) func sgn(_ x: Int) -> Int { x > 0 ? 2 : x < 0 ? 0 : 1 }
    switch c {
    case 0:
      let west = u > 0 ? sgn(plane[index - 1]) : 1
      let north = v > 0 ? sgn(plane[index - width]) : 1
      return orientation * 9 + west * 3 + north
    case 1:
      let west = u > 0 ? sgn(plane[index - 1]) : 1
      let north = v > 0 ? sgn(plane[index - width]) : 1
      return 27 + ((orientation * 3 + sgn(luma[index])) * 3 + west) * 3 + north
    default:
      return 108 + orientation * 9 + sgn(luma[index]) * 3 + sgn(co[index])
    }
  }

  /// The encoder's choice for one detail coefficient: among the nearest level, one level less
  /// and zero, the one with the least distortion + λ·rate under the current model state.
  private func choose(_ search: RateDistortionSearch, channel c: Int, index: Int, pNonzero: UInt32, greaterOneContext: Int,
                      magnitudeContext: Int, signContext: Int, escapeClass: Int) -> Int {
    let original = search.original[c][index]
    let step = search.steps[c]
    if abs(original) + step / 2 < step { return 0 }  // the nearest level is 0 (no division)
    let nearest = (abs(original) + step / 2) / step
    let weight = search.weights[c]
    let bias = search.biases[c]
    var best = 0
    var bestCost = Double(original) * Double(original) * weight + search.lambda * cost(pNonzero, false)
    // The greater-than-1 flag is costed by its fine model alone: close to the mix, and cheaper.
    for m in stride(from: nearest, through: max(1, nearest - 1), by: -1) {
      let error = Double(abs(original) - (m * step - bias))
      var bits = cost(pNonzero, true) + cost(sign[signContext].p1, original < 0)
      bits += cost(greaterOne[greaterOneContext].p1, m > 1)
      if m > 1 {
        bits += cost(greaterTwo[magnitudeContext].p1, m > 2)
        if m > 2 {
          let n = m - 2
          let length = Int.bitWidth - n.leadingZeroBitCount - 1
          let base = escapeClass * (Self.maxPrefix + 1)
          for k in 0...length { bits += cost(escapePrefix[base + min(k, Self.maxPrefix)].p1, k < length) }
          if length > 0 {
            bits += cost(escapeLeading[base + length].p1, (n >> (length - 1)) & 1 == 1) + Double(length - 1)
          }
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
  private func cost(_ p1: UInt32, _ bit: Bool) -> Double {
    let p = Int(p1)
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

  /// A detail magnitude's escape `value ≥ 0`: Exp-Golomb (order 0) with an adaptive unary
  /// prefix, an adaptive leading suffix bit and raw remaining suffix bits.
  private mutating func codeEscape<IO: EntropyIO>(_ io: inout IO, _ value: Int, base: Int) -> Int? {
    let n = value + 1
    guard let length = Self.codeUnaryLength(&io, n, models: &escapePrefix, base: base) else { return nil }
    if length == 0 { return 0 }
    let leading = io.bit((n >> (length - 1)) & 1 == 1, &escapeLeading[base + length]) ? 1 : 0
    let rest = Int(io.raw(UInt32(truncatingIfNeeded: n), count: length - 1))
    let result = (((2 | leading) << (length - 1)) | rest) - 1
    return result <= Self.maxMagnitude ? result : nil
  }

  /// Exp-Golomb (order 0) of `value ≥ 0`: an adaptive unary prefix, then raw suffix bits.
  private static func codeExpGolomb<IO: EntropyIO>(_ io: inout IO, _ value: Int, models: inout [AdaptiveBit], base: Int) -> Int? {
    let n = value + 1
    guard let length = codeUnaryLength(&io, n, models: &models, base: base) else { return nil }
    let suffix = Int(io.raw(UInt32(truncatingIfNeeded: n), count: length))
    let result = ((1 << length) | suffix) - 1
    return result <= Self.maxMagnitude ? result : nil
  }

  /// The Exp-Golomb prefix of `n ≥ 1`: ⌊log2 n⌋ in unary, one adaptive model per position.
  /// Returns the length coded, or nil past `maxPrefix` (a malformed stream).
  private static func codeUnaryLength<IO: EntropyIO>(_ io: inout IO, _ n: Int, models: inout [AdaptiveBit], base: Int) -> Int? {
    let bits = Int.bitWidth - n.leadingZeroBitCount - 1  // ⌊log2 n⌋ when encoding
    var length = 0
    while io.bit(length < bits, &models[base + min(length, maxPrefix)]) {
      length += 1
      if length > maxPrefix { return nil }
    }
    return length
  }
}

/// Mixes the stretched probabilities of 2 to 4 models with one weight vector per set (16.16
/// fixed point), trained online by the coding error: integer arithmetic only. An input left at
/// p = 1/2 stretches to 0, so it neither contributes nor moves its weight. The inputs are given
/// stretched (`stretch`), once for `mix` and `update`.
struct LogisticMixer {
  static let inputs = 4
  /// The learning rate is 2^-learningShift per unit of stretch × error.
  static let learningShift = 16
  var weights: [Int32]

  init(sets: Int, initial: [Int32]) {
    precondition(initial.count <= Self.inputs)
    let row = initial + [Int32](repeating: 0, count: Self.inputs - initial.count)
    weights = Array((0..<sets).map { _ in row }.joined())
  }

  /// The stretch of a probability of a 1 (out of 65536): ln(p / (1 − p)) in the mixer's units.
  @inline(__always)
  static func stretch(_ p: UInt32) -> Int { Int(TextLogistic.stretch(p)) }
  /// The stretch of p = 1/2: the input of a model that is left out.
  static let stretchedHalf = stretch(32768)

  /// The mixed probability of a 1, out of 65536, kept within [32, 65504].
  @inline(__always)
  func mix(set: Int, _ a: Int, _ b: Int, _ c: Int = stretchedHalf, _ d: Int = stretchedHalf) -> UInt32 {
    let w = set * Self.inputs
    let dot = Int(weights[w]) * a + Int(weights[w + 1]) * b + Int(weights[w + 2]) * c + Int(weights[w + 3]) * d
    return min(max(TextLogistic.squash(Int32(truncatingIfNeeded: dot >> 16)), 32), 65504)
  }

  /// Moves the set's weights along the gradient of the coding cost of `bit`.
  @inline(__always)
  mutating func update(set: Int, _ bit: Bool, _ p: UInt32, _ a: Int, _ b: Int, _ c: Int = stretchedHalf, _ d: Int = stretchedHalf) {
    let error = (bit ? 65536 : 0) - Int(p)
    weights.withUnsafeMutableBufferPointer { w in
      let row = set * Self.inputs
      w[row] &+= Int32(truncatingIfNeeded: (a * error) >> Self.learningShift)
      w[row + 1] &+= Int32(truncatingIfNeeded: (b * error) >> Self.learningShift)
      w[row + 2] &+= Int32(truncatingIfNeeded: (c * error) >> Self.learningShift)
      w[row + 3] &+= Int32(truncatingIfNeeded: (d * error) >> Self.learningShift)
    }
  }
}

extension CoefficientCoder {
  /// The groups of context models, in the one order the prior tables use. A profile names a
  /// prefix of them (version 2 has no gradient models; they come last).
  enum ModelGroup: Int, CaseIterable, Sendable {
    case lowZero, lowSign, lowPrefix, bandEmpty, zero, zeroActivity, zeroBand, greaterOne, greaterOneActivity
    case greaterTwo, escapePrefix, escapeLeading, sign, zeroGradient, greaterOneGradient

    /// Version 2's models: all but the gradient ones.
    static let version2 = Array(allCases.prefix(while: { $0 != .zeroGradient }))

    var keyPath: WritableKeyPath<CoefficientCoder, [AdaptiveBit]> {
      switch self {
      case .lowZero: \.lowZero
      case .lowSign: \.lowSign
      case .lowPrefix: \.lowPrefix
      case .bandEmpty: \.bandEmpty
      case .zero: \.zero
      case .zeroActivity: \.zeroActivity
      case .zeroBand: \.zeroBand
      case .greaterOne: \.greaterOne
      case .greaterOneActivity: \.greaterOneActivity
      case .greaterTwo: \.greaterTwo
      case .escapePrefix: \.escapePrefix
      case .escapeLeading: \.escapeLeading
      case .sign: \.sign
      case .zeroGradient: \.zeroGradient
      case .greaterOneGradient: \.greaterOneGradient
      }
    }

    /// How many adaptive bits the group holds.
    var count: Int { CoefficientCoder.blank[keyPath: keyPath].count }
  }

  /// A coder only for counting models.
  private static let blank = CoefficientCoder(gradientContexts: true, zeroMixerWeights: [], greaterOneMixerWeights: [])

  /// Every model, in `ModelGroup` order (the order of the prior tables).
  var models: [AdaptiveBit] { ModelGroup.allCases.flatMap { self[keyPath: $0.keyPath] } }

  static let modelCount = ModelGroup.allCases.reduce(0) { $0 + $1.count }

  /// The coder at the start of a stream of the profile: its models start from `priors`
  /// (probabilities of a 1, out of 65536, for the profile's model groups in order) with the
  /// confidence of `confidence` earlier observations. `priors` must hold exactly one value a
  /// model (the profile's validation sees to it).
  init(profile: FormatProfile.Thumbnail, priors: ArraySlice<UInt16>, confidence: UInt8) {
    self.init(untrained: profile)
    precondition(priors.count == profile.modelCount, "thumbnail priors do not match the profile's models")
    var next = priors.startIndex
    for group in profile.models {
      withModels(of: group) { models in
        for i in models.indices {
          models[i] = AdaptiveBit(p1: UInt32(priors[next]), limit: Int(models[i].limit))
          models[i].count = confidence
          next += 1
        }
      }
    }
  }

  /// `body` on the models of `group`, in place. The same as `self[keyPath: group.keyPath]`, but
  /// a switch: every thumbnail decode loads its 2,503 priors through here, and three key-path
  /// accesses a model were about a third of a small thumbnail's decode (perf, under ASan).
  private mutating func withModels(of group: ModelGroup, _ body: (inout [AdaptiveBit]) -> Void) {
    switch group {
    case .lowZero: body(&lowZero)
    case .lowSign: body(&lowSign)
    case .lowPrefix: body(&lowPrefix)
    case .bandEmpty: body(&bandEmpty)
    case .zero: body(&zero)
    case .zeroActivity: body(&zeroActivity)
    case .zeroBand: body(&zeroBand)
    case .greaterOne: body(&greaterOne)
    case .greaterOneActivity: body(&greaterOneActivity)
    case .greaterTwo: body(&greaterTwo)
    case .escapePrefix: body(&escapePrefix)
    case .escapeLeading: body(&escapeLeading)
    case .sign: body(&sign)
    case .zeroGradient: body(&zeroGradient)
    case .greaterOneGradient: body(&greaterOneGradient)
    }
  }
}
