/// The thumbnail codec: a lossy, header-free transform codec for small RGB images (1...256 a side in
/// format versions 2 and 3; from version 4 up to the image's own size; `FormatProfile.Thumbnail`).
///
/// YCoCg colour, an integer CDF 9/7 wavelet normalised so one step size is MSE-optimal, dead-zone
/// quantisation with rate-distortion pruning, and context-adaptive binary arithmetic coding of the
/// coefficients (`CoefficientCoder`). The stream starts with the quality index; the dimensions
/// come from the container. Decoding is integer-only: the same bytes give the same pixels anywhere.
public enum ThumbnailCodec {
  /// Quality indices run `0..<qualityLevels`; higher spends more bytes for a better image.
  public static let qualityLevels = 64
  /// The largest side the current format's codec accepts (`FormatProfile.Thumbnail.maxSide`).
  public static var maxSide: Int { FormatProfile.current.thumbnail.maxSide }

  static let qualityBits = 6
  /// The rate-distortion multiplier, per squared luma step: encoder-side only. A rate search may
  /// scale it (`encode(_:quality:to:lambdaFactor:)`) to land between two qualities' sizes.
  static let lambdaScale = 0.1
  /// Samples are carried with 4 fractional bits through the transform.
  static let precisionBits = 4

  static func levels(width: Int, height: Int, profile: FormatProfile.Thumbnail) -> Int {
    max(0, SubbandLayout.defaultLevels(width: width, height: height) + profile.levelOffset)
  }

  /// The quantiser steps of the three planes (Y, Co, Cg) at `quality`.
  static func steps(quality: Int, profile: FormatProfile.Thumbnail) -> [Int] {
    let luma = profile.lumaSteps[quality]
    return [luma, max(1, (luma * profile.coStepScale) >> 4), max(1, (luma * profile.cgStepScale) >> 4)]
  }

  public static func encode(rgb: [UInt8], width: Int, height: Int, quality: Int, to encoder: inout RangeEncoder,
                            profile: FormatProfile = .current) {
    encode(analyse(rgb: rgb, width: width, height: height, profile: profile), quality: quality, to: &encoder)
  }

  /// A thumbnail after the colour transform and the forward wavelet: the part of encoding that
  /// does not depend on the quality, so a search over qualities computes it once.
  public struct Analysis: Sendable {
    public let width: Int
    public let height: Int
    let layout: SubbandLayout
    let planes: [[Int]]
    /// The profile whose transform made it, and which codes it.
    let profile: FormatProfile.Thumbnail
  }

  public static func analyse(rgb: [UInt8], width: Int, height: Int, profile: FormatProfile = .current) -> Analysis {
    let profile = profile.thumbnail
    precondition(width >= 1 && height >= 1 && width <= profile.maxSide && height <= profile.maxSide, "thumbnail size out of range")
    precondition(rgb.count == width * height * 3, "pixel count does not match the size")
    let layout = SubbandLayout(width: width, height: height, levels: levels(width: width, height: height, profile: profile))
    var planes = forwardColour(rgb, count: width * height)
    for c in 0..<3 {
      Wavelet97.forward(&planes[c], width: width, height: height, levels: layout.levels)
    }
    return Analysis(width: width, height: height, layout: layout, planes: planes, profile: profile)
  }

  /// A cheap measure of what each quality would code, for a rate search: at every quality, the
  /// sum over the detail coefficients the dead-zone quantiser keeps of 1 + ⌊log2 level⌋ (about
  /// the bits of their magnitudes). Coded bytes follow it closely: on Kodak, the bytes at one
  /// quality predicted from those two qualities away by the ratio of the proxies are within
  /// 1.6%, and from a thumbnail of a ninth of the area within 7% (standard deviations; a fixed
  /// growth a quality gives 3.2%, bytes ∝ area^0.8 27%), and before anything is coded, coded
  /// bits are `bitsPerUnit` times it within 9%. Encoder-side only: it reads no bitstream and
  /// decides nothing a decoder sees.
  public struct RateProxy: Sendable {
    /// The proxy at each quality index.
    public let values: [Double]
    /// Coded thumbnail bits per unit of the proxy, typical of Kodak (within about 9%).
    public static let bitsPerUnit = 3.3

    /// Bins an octave of the magnitude histogram.
    static let binBits = 5

    /// One pass over the coefficients builds a histogram of 16|x| (32 bins an octave); the
    /// proxy of every quality follows from it.
    public init(_ analysis: Analysis) {
      let layout = analysis.layout
      let profile = analysis.profile
      let binsPerOctave = 1 << Self.binBits
      var histograms = [[Int]](repeating: [Int](repeating: 0, count: 64 * binsPerOctave), count: 3)
      for c in 0..<3 {
        analysis.planes[c].withUnsafeBufferPointer { plane in
          histograms[c].withUnsafeMutableBufferPointer { bins in
            for y in 0..<layout.height {
              let row = y * layout.width
              for x in (y < layout.lowHeight ? layout.lowWidth : 0)..<layout.width {
                let v = 16 * abs(plane[row + x])
                if v == 0 { continue }
                let octave = Int.bitWidth - 1 - v.leadingZeroBitCount
                let fraction = octave >= Self.binBits ? v >> (octave - Self.binBits) : v << (Self.binBits - octave)
                bins[octave * binsPerOctave + (fraction & (binsPerOctave - 1))] += 1
              }
            }
          }
        }
      }
      // Each occupied bin's middle value of 16|x|, and its count.
      let occupied = histograms.map { bins in
        bins.enumerated().filter { $0.element > 0 }.map { bin, count in
          let octave = bin / binsPerOctave, fraction = bin % binsPerOctave
          return (value: Double(1 << octave) * (1 + (Double(fraction) + 0.5) / Double(binsPerOctave)), count: Double(count))
        }
      }
      values = (0..<ThumbnailCodec.qualityLevels).map { quality in
        let steps = ThumbnailCodec.steps(quality: quality, profile: profile)
        var sum = 0.0
        for c in 0..<3 {
          // Quantised as `quantise` does: level ⌊(16|x| + offset) / 16 step⌋.
          let step = Double(steps[c]), offset = Double(profile.deadZoneRounding) * step
          for bin in occupied[c] {
            let level = Int((bin.value + offset) / (16 * step))
            if level >= 1 { sum += bin.count * Double(Int.bitWidth - level.leadingZeroBitCount) }
          }
        }
        return sum
      }
    }
  }

  /// The quantised levels an encode wrote. The decoder's pixels follow from them exactly, so a
  /// rate search can score a candidate without decoding its stream.
  public struct Levels: Sendable {
    let layout: SubbandLayout
    let quality: Int
    let planes: [[Int]]
    let profile: FormatProfile.Thumbnail

    /// The RGB pixels that decoding the stream gives, bit for bit.
    public func reconstruction() -> [UInt8] {
      ThumbnailCodec.reconstruct(planes, layout: layout, steps: ThumbnailCodec.steps(quality: quality, profile: profile),
                                 profile: profile)
    }
  }

  /// Encodes `analysis` at `quality`. `lambdaFactor` scales the rate-distortion multiplier
  /// (`lambdaScale`): above 1 the encoder zeroes and lowers more coefficients and writes fewer
  /// bytes, below 1 more. It only changes which levels the encoder picks, never how a stream is
  /// read, so any factor gives a valid stream of `quality`; 1 is the reference encoder.
  @discardableResult
  public static func encode(_ analysis: Analysis, quality: Int, to encoder: inout RangeEncoder,
                            lambdaFactor: Double = 1) -> Levels {
    encode(analysis, quality: quality, to: &encoder, coder: initialCoder(quality: quality, profile: analysis.profile),
           lambdaFactor: lambdaFactor).levels
  }

  /// The context models at the start of a stream of quality `quality`: the profile's trained
  /// priors for the quality's bucket, and its mixers' starting weights.
  static func initialCoder(quality: Int, profile: FormatProfile.Thumbnail) -> CoefficientCoder {
    let count = profile.modelCount
    let bucket = quality * profile.priorBuckets / qualityLevels
    return CoefficientCoder(profile: profile, priors: profile.priors[bucket * count ..< (bucket + 1) * count],
                            confidence: profile.priorConfidence)
  }

  /// Encodes with the given starting models; returns the levels written and the models' final
  /// state (for training priors).
  static func encode(_ analysis: Analysis, quality: Int, to encoder: inout RangeEncoder,
                     coder initial: CoefficientCoder, lambdaFactor: Double = 1) -> (levels: Levels, coder: CoefficientCoder) {
    precondition((0..<qualityLevels).contains(quality), "quality index out of range")
    encoder.encodeBits(UInt32(quality), count: qualityBits)
    let layout = analysis.layout
    let planes = analysis.planes
    let profile = analysis.profile
    let steps = steps(quality: quality, profile: profile)
    var q = (0..<3).map { quantise(planes[$0], step: steps[$0], layout: layout, profile: profile) }
    let search = RateDistortionSearch(
      original: planes, steps: steps, biases: steps.map { ($0 * profile.reconstructionBias) >> 4 },
      weights: [1, 0.5 / 3, 0.75 / 3],
      lambda: lambdaScale * lambdaFactor * Double(steps[0] * steps[0]))
    var io = EncodingIO(encoder: encoder)
    var coder = initial
    _ = coder.code(&io, &q, layout: layout, steps: steps, search: search)
    encoder = io.encoder
    return (Levels(layout: layout, quality: quality, planes: q, profile: profile), coder)
  }

  /// Decodes a thumbnail of the given size from a stream of the format `profile`.
  public static func decode(width: Int, height: Int, from decoder: inout RangeDecoder,
                            profile: FormatProfile = .current) throws -> [UInt8] {
    let profile = profile.thumbnail
    guard width >= 1, height >= 1, width <= profile.maxSide, height <= profile.maxSide else {
      throw CodingError("thumbnail", "size \(width)x\(height) is outside 1...\(profile.maxSide)")
    }
    let quality = Int(decoder.decodeBits(count: qualityBits))
    guard quality < qualityLevels else {
      throw CodingError("thumbnail", "quality index \(quality) is outside 0..<\(qualityLevels)")
    }
    let layout = SubbandLayout(width: width, height: height, levels: levels(width: width, height: height, profile: profile))
    var q = [[Int]](repeating: [Int](repeating: 0, count: width * height), count: 3)
    var io = DecodingIO(decoder: decoder)
    var coder = initialCoder(quality: quality, profile: profile)
    let planeSteps = steps(quality: quality, profile: profile)
    let ok = coder.code(&io, &q, layout: layout, steps: planeSteps)
    decoder = io.decoder
    guard ok else { throw CodingError("thumbnail", "corrupt coefficient data") }
    return reconstruct(q, layout: layout, steps: planeSteps, profile: profile)
  }

  /// Dequantise, inverse-transform and convert the quantised planes back to RGB.
  static func reconstruct(_ q: [[Int]], layout: SubbandLayout, steps: [Int], profile: FormatProfile.Thumbnail) -> [UInt8] {
    var planes = (0..<3).map { dequantise(q[$0], step: steps[$0], layout: layout, profile: profile) }
    for c in 0..<3 {
      Wavelet97.inverse(&planes[c], width: layout.width, height: layout.height, levels: layout.levels)
    }
    return inverseColour(planes, count: layout.width * layout.height)
  }

  /// Dead-zone quantiser: rounds magnitudes with an offset of `deadZoneRounding`/16 of a step.
  /// The low band is rounded to the nearest level of its own, finer step.
  static func quantise(_ plane: [Int], step: Int, layout: SubbandLayout, profile: FormatProfile.Thumbnail) -> [Int] {
    let lowStep = lowBandStep(step, profile: profile)
    let offset = profile.deadZoneRounding * step, divisor = 16 * step
    // A detail magnitude a quantises to 0 exactly when 16a + offset < divisor: most do, and the
    // comparison spares them the division.
    let zeroBelow = divisor - offset
    var q = [Int](repeating: 0, count: plane.count)
    for y in 0..<layout.height {
      for x in 0..<layout.width {
        let i = y * layout.width + x
        let a = abs(plane[i])
        let m: Int
        if x < layout.lowWidth && y < layout.lowHeight {
          m = (2 * a + lowStep) / (2 * lowStep)
        } else {
          if 16 * a < zeroBelow { continue }
          m = (a * 16 + offset) / divisor
        }
        q[i] = plane[i] < 0 ? -m : m
      }
    }
    return q
  }

  /// The low band's step: finer than the detail bands', since its few samples carry most energy.
  @inline(__always)
  static func lowBandStep(_ step: Int, profile: FormatProfile.Thumbnail) -> Int {
    max(1, min((step * profile.lowStepScale) >> 4, profile.lowStepLimit))
  }

  /// The coefficient values of the quantised plane `q`, or of its top-left `width × height`
  /// region (row-major with that width): the region a partial inverse transform needs.
  static func dequantise(_ q: [Int], step: Int, layout: SubbandLayout, profile: FormatProfile.Thumbnail,
                         width: Int? = nil, height: Int? = nil) -> [Int] {
    let width = width ?? layout.width, height = height ?? layout.height
    var plane = [Int](repeating: 0, count: width * height)
    let bias = (step * profile.reconstructionBias) >> 4
    let lowStep = lowBandStep(step, profile: profile)
    let limit = Wavelet97.clampLimit
    for y in 0..<height {
      for x in 0..<width {
        let v = q[y * layout.width + x]
        if v == 0 { continue }
        let low = x < layout.lowWidth && y < layout.lowHeight
        let m = min(low ? abs(v) * lowStep : abs(v) * step - bias, limit)
        plane[y * width + x] = v < 0 ? -m : m
      }
    }
    return plane
  }

  /// RGB to Y (centred on 0), Co, Cg planes with `precisionBits` fractional bits.
  static func forwardColour(_ rgb: [UInt8], count: Int) -> [[Int]] {
    var y = [Int](repeating: 0, count: count)
    var co = y, cg = y
    for i in 0..<count {
      let r = Int(rgb[3 * i]), g = Int(rgb[3 * i + 1]), b = Int(rgb[3 * i + 2])
      y[i] = (r + 2 * g + b - 512) << (precisionBits - 2)
      co[i] = (r - b) << precisionBits
      cg[i] = (2 * g - r - b) << (precisionBits - 1)
    }
    return [y, co, cg]
  }

  static func inverseColour(_ planes: [[Int]], count: Int) -> [UInt8] {
    var rgb = [UInt8](repeating: 0, count: count * 3)
    let round = 1 << (precisionBits - 1)
    let offset = 128 << precisionBits
    for i in 0..<count {
      let y = planes[0][i] + offset, co = planes[1][i], cg = planes[2][i]
      let g = y + (cg >> 1)
      let t = y - (cg >> 1)
      let r = t + (co >> 1)
      let b = t - (co >> 1)
      rgb[3 * i] = UInt8(min(max((r + round) >> precisionBits, 0), 255))
      rgb[3 * i + 1] = UInt8(min(max((g + round) >> precisionBits, 0), 255))
      rgb[3 * i + 2] = UInt8(min(max((b + round) >> precisionBits, 0), 255))
    }
    return rgb
  }

  /// Encode into a standalone byte string (for benchmarks; `.misc` files share one stream).
  public static func encode(rgb: [UInt8], width: Int, height: Int, quality: Int, profile: FormatProfile = .current) -> [UInt8] {
    var encoder = RangeEncoder()
    encode(rgb: rgb, width: width, height: height, quality: quality, to: &encoder, profile: profile)
    return encoder.finish()
  }

  /// Decode a standalone byte string from `encode(rgb:width:height:quality:)`.
  public static func decode(_ bytes: [UInt8], width: Int, height: Int, profile: FormatProfile = .current) throws -> [UInt8] {
    var decoder = RangeDecoder(bytes)
    return try decode(width: width, height: height, from: &decoder, profile: profile)
  }
}
