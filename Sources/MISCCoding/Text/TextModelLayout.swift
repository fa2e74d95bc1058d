/// The shape of the text model: which contexts it predicts from and how big each table is.
/// The coder and the trainer share it; its `fingerprint` is stored in the model file so a
/// resource built for another layout is rejected at load.
enum TextModelLayout {
  /// Static (trained) contexts, each a hashed table of 16-byte nibble blocks:
  /// order 0, 1, 2, 3, 4, 6 bytes; the current word; the current word with the previous word.
  static let staticBlockBits: [Int] = [5, 13, 15, 15, 16, 15, 15, 15]
  static var staticCount: Int { staticBlockBits.count }
  /// Adaptive (within-stream) contexts: order 2, 3, 4 and the current word, hashed to 2^bits states.
  static let adaptiveCount = 4
  static let adaptiveBits = 14
  /// State-mapped inputs: the static contexts, the adaptive contexts, the match model.
  static var mappedCount: Int { staticCount + adaptiveCount + 1 }
  /// Mixer inputs: the mapped inputs plus a bias.
  static var inputCount: Int { mappedCount + 1 }
  /// Mixer weight sets: the first mixer's selected by the partial byte, the second's by the
  /// position in the string, the match length and the highest static order that has statistics.
  static let mixerSets = 256
  static let mixer2Sets = 4 * 4 * 4
  static var weightCount: Int { (mixerSets + mixer2Sets) * inputCount }
  /// Entries of each state map (one per byte state).
  static let stateCount = 256
  /// Match model: hash of the last `matchOrder` bytes into 2^`matchBits` positions.
  static let matchOrder = 4
  static let matchBits = 12
  static let matchMaxLength = 15
  /// The byte that ends a string: it never occurs in UTF-8.
  static let endOfString: UInt8 = 0xFF
  /// Mixer learning rates (numerator over 2^14 of x·err) while training and while coding.
  static let trainingRate: Int32 = 24
  static let codingRate: Int32 = 16

  static var staticTableBytes: Int { staticBlockBits.reduce(0) { $0 + (16 << $1) } }

  /// A hash of everything above, stored in the model file.
  static var fingerprint: UInt32 {
    var values = staticBlockBits
    values += [adaptiveCount, adaptiveBits, mixerSets, mixer2Sets, stateCount, matchOrder, matchBits, matchMaxLength,
               Int(endOfString), Int(trainingRate), Int(codingRate), 1]
    var h: UInt32 = 2_166_136_261
    for v in values {
      h = (h ^ UInt32(truncatingIfNeeded: v)) &* 16_777_619
    }
    return h
  }
}

/// Hashing used by the text contexts (integer-only, identical everywhere).
enum TextHash {
  @inline(__always)
  static func mix64(_ value: UInt64) -> UInt64 {
    var x = value
    x ^= x >> 33
    x &*= 0xFF51_AFD7_ED55_8CCD
    x ^= x >> 33
    x &*= 0xC4CE_B9FE_1A85_EC53
    x ^= x >> 33
    return x
  }

  /// FNV-1a, 64-bit: the integrity hash of the model file's payload.
  static func fnv1a64<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes {
      h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
    }
    return h
  }
}

/// Byte states of the model's contexts. A static state summarises the training counts
/// (n0, n1) of one binary decision; an adaptive state the recent counts within the stream.
enum TextState {
  /// Confidence buckets: the lower bound of each total count n0 + n1.
  static let totalBounds: [UInt32] = [1, 2, 3, 4, 5, 7, 10, 15, 23, 35, 55, 90, 150, 300, 800]
  static let ratioBuckets = 17

  /// The static state of counts (n0, n1): 0 when never seen, otherwise 1 + bucket(n)·17 + bucket(p1).
  static func quantize(n0: UInt32, n1: UInt32) -> UInt8 {
    let n = n0 &+ n1
    if n == 0 { return 0 }
    var t = 0
    while t + 1 < totalBounds.count && n >= totalBounds[t + 1] { t += 1 }
    // Krichevsky–Trofimov estimate of p1 in 12 bits, then its stretch, bucketed.
    let p12 = (UInt64(2 * n1 + 1) << 12) / UInt64(2 * n + 2)
    let st = Int(TextLogistic.stretch(UInt32(p12 << 4)))  // -2047...2047
    let r = min(max((st + 2048) * ratioBuckets / 4096, 0), ratioBuckets - 1)
    return UInt8(1 + t * ratioBuckets + r)
  }

  /// The adaptive state after observing `bit`: counts (n0, n1) in nibbles, the opposite count
  /// decays so the state follows the recent past.
  @inline(__always)
  static func next(_ state: UInt8, _ bit: Bool) -> UInt8 {
    var n0 = state >> 4, n1 = state & 15
    if bit {
      if n1 < 15 { n1 += 1 }
      if n0 > 2 { n0 = (n0 + 1) >> 1 }
    } else {
      if n0 < 15 { n0 += 1 }
      if n1 > 2 { n1 = (n1 + 1) >> 1 }
    }
    return n0 << 4 | n1
  }
}
