import Foundation

/// A byte-oriented range encoder (Subbotin/LZMA family) with carry propagation.
///
/// All arithmetic is on integers, so the bytes depend only on the symbols and the integer
/// model states: a file encoded on one machine decodes identically on any other.
/// Binary probabilities are 16-bit (`RangeCoder.probabilityBits`); multi-symbol frequencies
/// must total at most `RangeCoder.maxTotal`.
public struct RangeEncoder: Sendable {
  @usableFromInline var low: UInt64 = 0
  @usableFromInline var range: UInt32 = 0xFFFF_FFFF
  @usableFromInline var cache: UInt8 = 0
  @usableFromInline var pendingCount = 1
  /// The first byte the carry scheme emits is always zero, so it is never written.
  @usableFromInline var skipLeadingZero = true
  @usableFromInline var shifts = 0
  public internal(set) var bytes: [UInt8] = []

  public init() {}

  /// Information written so far, in bits: exact up to the final flush (which adds at most 2 bytes).
  /// Used only to report per-layer costs; it never influences a coding decision.
  public var bitCount: Double {
    Double(8 * shifts) + 32.0 - log2(Double(range))
  }

  /// Encode `bit` with probability `p1` (out of 65536) that the bit is 1.
  @inlinable
  public mutating func encode(bit: Bool, p1: UInt32) {
    let bound = (range >> 16) &* p1
    if bit {
      range = bound
    } else {
      addToLow(bound)
      range &-= bound
    }
    normalize()
  }

  /// Encode the symbol whose cumulative frequency is `cumulative`, with frequency `frequency`,
  /// out of `total` (`total` ≤ `RangeCoder.maxTotal`).
  @inlinable
  public mutating func encode(cumulative: UInt32, frequency: UInt32, total: UInt32) {
    let r = range / total
    addToLow(r &* cumulative)
    range = r &* frequency
    normalize()
  }

  /// Encode the low `count` bits of `value` (count ≤ 32) with equal probabilities, 16 at a time.
  @inlinable
  public mutating func encodeBits(_ value: UInt32, count: Int) {
    precondition(count >= 0 && count <= 32)
    var remaining = count
    while remaining > 0 {
      let n = min(remaining, 16)
      remaining -= n
      let chunk = (value >> UInt32(remaining)) & ((1 << UInt32(n)) - 1)
      range >>= UInt32(n)
      addToLow(range &* chunk)
      normalize()
    }
  }

  /// Finish the stream and return its bytes.
  ///
  /// The flush picks the value in the final interval with the most trailing zero bits, and
  /// trailing zero bytes are dropped: the decoder reads zeros past the end of its input.
  public mutating func finish() -> [UInt8] {
    // Find v in [low, low + range) with as many trailing zero bits as possible.
    let end = low + UInt64(range)  // exclusive
    var v = low
    var k: UInt64 = 32
    while k > 0 {
      let mask: UInt64 = (1 << k) - 1
      let candidate = (low + mask) & ~mask
      if candidate < end { v = candidate; break }
      k -= 1
    }
    low = v
    for _ in 0..<5 { shiftLow() }
    while let last = bytes.last, last == 0 { bytes.removeLast() }
    return bytes
  }

  @usableFromInline
  mutating func addToLow(_ value: UInt32) {
    low &+= UInt64(value)
  }

  @usableFromInline
  mutating func normalize() {
    while range < (1 << 24) {
      range <<= 8
      shiftLow()
    }
  }

  @usableFromInline mutating func shiftLow() {
    shifts += 1
    if low < 0xFF00_0000 || low >= (1 << 32) {
      let carry = UInt8(truncatingIfNeeded: low >> 32)
      var byte = cache
      repeat {
        emit(byte &+ carry)
        byte = 0xFF
        pendingCount -= 1
      } while pendingCount != 0
      cache = UInt8(truncatingIfNeeded: low >> 24)
    }
    pendingCount += 1
    low = (low & 0x00FF_FFFF) << 8
  }

  @usableFromInline mutating func emit(_ byte: UInt8) {
    if skipLeadingZero {
      skipLeadingZero = false
      assert(byte == 0, "the carry scheme's first byte must be zero")
      return
    }
    bytes.append(byte)
  }
}

