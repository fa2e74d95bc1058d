/// An adaptive probability for one binary decision, in 16-bit fixed point.
///
/// It starts fast (each early observation moves the estimate about as much as a count-based
/// estimator would) and settles to an exponential window of 2^-`limit`. Integer-only.
public struct AdaptiveBit: Sendable, Hashable {
  /// Probability that the next bit is 1, out of 65536.
  public private(set) var p1: UInt32
  var count: UInt8 = 0
  let limit: UInt8

  /// - Parameters:
  ///   - p1: the initial probability of a 1, out of 65536.
  ///   - limit: the slowest adaptation shift (4 adapts fast, 7 is nearly static).
  public init(p1: UInt32 = 32768, limit: Int = 5) {
    precondition((1...15).contains(limit))
    self.p1 = min(max(p1, AdaptiveBit.minP), AdaptiveBit.maxP)
    self.limit = UInt8(limit)
  }

  static let minP: UInt32 = 31
  static let maxP: UInt32 = 65536 - 31

  /// Move the estimate towards the observed bit.
  @inline(__always)
  public mutating func update(_ bit: Bool) {
    let shift = UInt32(min(shiftFor(count), limitValue))
    if bit {
      p1 += (65536 - p1) >> shift
    } else {
      p1 -= p1 >> shift
    }
    p1 = min(max(p1, AdaptiveBit.minP), AdaptiveBit.maxP)
    if count < 255 { count += 1 }
  }

  var limitValue: UInt8 { limit }

  /// ⌊log2(n + 2)⌋: a step of about 1/(n+2) for the n-th observation.
  @usableFromInline
  func shiftFor(_ n: UInt8) -> UInt8 {
    UInt8(Int.bitWidth - (Int(n) + 2).leadingZeroBitCount - 1)
  }

  public mutating func encode(_ bit: Bool, to encoder: inout RangeEncoder) {
    encoder.encode(bit: bit, p1: p1)
    update(bit)
  }

  public mutating func decode(from decoder: inout RangeDecoder) -> Bool {
    let bit = decoder.decodeBit(p1: p1)
    update(bit)
    return bit
  }
}
