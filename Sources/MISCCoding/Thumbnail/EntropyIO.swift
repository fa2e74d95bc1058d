import Foundation

/// One coding direction of the range coder, so a single function describes a bitstream for both
/// the encoder and the decoder and the two can never drift apart.
protocol EntropyIO {
  /// Code `bit` (ignored when decoding) with an adaptive model; returns the coded bit.
  mutating func bit(_ bit: Bool, _ model: inout AdaptiveBit) -> Bool
  /// Code the low `count` bits of `value` (ignored when decoding) at equal probability.
  mutating func raw(_ value: UInt32, count: Int) -> UInt32
  /// Code `bit` (ignored when decoding) with a fixed probability of a 1 (out of 65536).
  mutating func bit(_ bit: Bool, p1: UInt32) -> Bool
}

struct EncodingIO: EntropyIO {
  var encoder: RangeEncoder

  @inline(__always)
  mutating func bit(_ bit: Bool, p1: UInt32) -> Bool {
    encoder.encode(bit: bit, p1: p1)
    return bit
  }

  @inline(__always)
  mutating func bit(_ bit: Bool, _ model: inout AdaptiveBit) -> Bool {
    model.encode(bit, to: &encoder)
    return bit
  }

  @inline(__always)
  mutating func raw(_ value: UInt32, count: Int) -> UInt32 {
    encoder.encodeBits(value, count: count)
    return value & UInt32(truncatingIfNeeded: (UInt64(1) << UInt64(count)) - 1)
  }
}

struct DecodingIO: EntropyIO {
  var decoder: RangeDecoder

  @inline(__always)
  mutating func bit(_ bit: Bool, p1: UInt32) -> Bool {
    decoder.decodeBit(p1: p1)
  }

  @inline(__always)
  mutating func bit(_ bit: Bool, _ model: inout AdaptiveBit) -> Bool {
    model.decode(from: &decoder)
  }

  @inline(__always)
  mutating func raw(_ value: UInt32, count: Int) -> UInt32 {
    decoder.decodeBits(count: count)
  }
}

/// Counts the information an encoding would take, in 1/65536 bits, without writing anything;
/// the encoder's rate-distortion search uses it to compare candidate streams cheaply.
struct CostIO: EntropyIO {
  var cost: Int = 0

  @inline(__always)
  mutating func bit(_ bit: Bool, p1: UInt32) -> Bool {
    let p = Int(p1)
    cost += BitCost.table[(bit ? p : 65536 - p) >> 6]
    return bit
  }

  @inline(__always)
  mutating func bit(_ bit: Bool, _ model: inout AdaptiveBit) -> Bool {
    let p = Int(model.p1)
    cost += BitCost.table[(bit ? p : 65536 - p) >> 6]
    model.update(bit)
    return bit
  }

  @inline(__always)
  mutating func raw(_ value: UInt32, count: Int) -> UInt32 {
    cost += count << 16
    return value & UInt32(truncatingIfNeeded: (UInt64(1) << UInt64(count)) - 1)
  }
}

/// −log2(p) in 1/65536 bits for p = (i + 0.5)/1024. Used only by the encoder's search, never
/// to decide a probability.
enum BitCost {
  static let table: [Int] = (0..<1024).map { i in Int(-log2((Double(i) + 0.5) / 1024) * 65536) }
}
