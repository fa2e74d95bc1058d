import Foundation

/// The decoder for `RangeEncoder`. Bytes past the end of the input read as zero, which is what
/// lets the encoder drop trailing zero bytes; `overreadBytes` tells how far past the end it went.
public struct RangeDecoder: Sendable {
  @usableFromInline let input: [UInt8]
  @usableFromInline var position: Int
  @usableFromInline var range: UInt32 = 0xFFFF_FFFF
  @usableFromInline var code: UInt32 = 0
  /// Bytes requested beyond the end of the input.
  public internal(set) var overreadBytes = 0
  @usableFromInline var shifts = 0

  /// Information consumed so far, in bits. The decoder's range evolves exactly as the
  /// encoder's did, so this equals `RangeEncoder.bitCount` at the same point of the stream.
  public var bitCount: Double {
    Double(8 * shifts) + 32.0 - log2(Double(range))
  }

  public init(_ input: [UInt8], offset: Int = 0) {
    self.input = input
    self.position = offset
    for _ in 0..<4 { code = (code << 8) | UInt32(nextByte()) }
  }

  /// Decode a bit coded with probability `p1` (out of 65536) of being 1.
  @inlinable
  public mutating func decodeBit(p1: UInt32) -> Bool {
    let bound = (rangeValue >> 16) &* p1
    let bit: Bool
    if codeValue < bound {
      setRange(bound)
      bit = true
    } else {
      setCode(codeValue &- bound)
      setRange(rangeValue &- bound)
      bit = false
    }
    normalize()
    return bit
  }

  /// The cumulative-frequency target for a `total`-frequency model; follow with `consume`.
  /// The result is clamped to `total - 1` so corrupt input can never index past a table.
  @inlinable
  public mutating func decodeTarget(total: UInt32) -> UInt32 {
    let r = rangeValue / total
    setRange(r)  // temporarily stores r; `consume` multiplies it back
    return min(codeValue / r, total - 1)
  }

  /// Remove the symbol `[cumulative, cumulative + frequency)` found from `decodeTarget`.
  @inlinable
  public mutating func consume(cumulative: UInt32, frequency: UInt32) {
    let r = rangeValue
    setCode(codeValue &- r &* cumulative)
    setRange(r &* frequency)
    normalize()
  }

  /// Decode `count` (≤ 32) equal-probability bits, 16 at a time (the inverse of `encodeBits`).
  @inlinable
  public mutating func decodeBits(count: Int) -> UInt32 {
    precondition(count >= 0 && count <= 32)
    var remaining = count
    var value: UInt32 = 0
    while remaining > 0 {
      let n = min(remaining, 16)
      remaining -= n
      setRange(rangeValue >> UInt32(n))
      let chunk = min(codeValue / rangeValue, (1 << UInt32(n)) - 1)
      setCode(codeValue &- chunk &* rangeValue)
      normalize()
      value = (value << UInt32(n)) | chunk
    }
    return value
  }

  @usableFromInline var rangeValue: UInt32 { range }
  @usableFromInline var codeValue: UInt32 { code }
  @usableFromInline mutating func setRange(_ r: UInt32) { range = r }
  @usableFromInline mutating func setCode(_ c: UInt32) { code = c }

  @usableFromInline
  mutating func normalize() {
    while range < (1 << 24) {
      range <<= 8
      shifts += 1
      code = (code << 8) | UInt32(nextByte())
    }
  }

  @usableFromInline mutating func nextByte() -> UInt8 {
    if position < input.count {
      defer { position += 1 }
      return input[position]
    }
    overreadBytes += 1
    return 0
  }
}

/// Shared constants of the range coder.
public enum RangeCoder {
  /// Binary probabilities are fixed-point with this many fraction bits.
  public static let probabilityBits = 16
  /// The largest total frequency a multi-symbol model may use.
  public static let maxTotal: UInt32 = 1 << 16
}
