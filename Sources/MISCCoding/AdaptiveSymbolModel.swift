/// An adaptive frequency table over a small alphabet `0..<count`, for the multi-symbol path
/// of the range coder. Frequencies are integers; the table halves itself before its total
/// would exceed `RangeCoder.maxTotal`.
public struct AdaptiveSymbolModel: Sendable, Hashable {
  private var frequencies: [UInt32]
  private var total: UInt32
  private let increment: UInt32

  /// - Parameters:
  ///   - count: the alphabet size (2...4096).
  ///   - increment: how much one observation adds (larger adapts faster).
  public init(count: Int, increment: UInt32 = 24) {
    precondition((2...4096).contains(count), "alphabet size out of range")
    frequencies = [UInt32](repeating: 1, count: count)
    total = UInt32(count)
    self.increment = increment
  }

  public var alphabetSize: Int { frequencies.count }

  public mutating func encode(_ symbol: Int, to encoder: inout RangeEncoder) {
    precondition(symbol >= 0 && symbol < frequencies.count, "symbol outside the alphabet")
    var cumulative: UInt32 = 0
    for i in 0..<symbol { cumulative += frequencies[i] }
    encoder.encode(cumulative: cumulative, frequency: frequencies[symbol], total: total)
    update(symbol)
  }

  public mutating func decode(from decoder: inout RangeDecoder) -> Int {
    let target = decoder.decodeTarget(total: total)
    var cumulative: UInt32 = 0
    var symbol = 0
    while symbol < frequencies.count - 1 && cumulative + frequencies[symbol] <= target {
      cumulative += frequencies[symbol]
      symbol += 1
    }
    decoder.consume(cumulative: cumulative, frequency: frequencies[symbol])
    update(symbol)
    return symbol
  }

  private mutating func update(_ symbol: Int) {
    frequencies[symbol] += increment
    total += increment
    if total > RangeCoder.maxTotal - increment {
      total = 0
      for i in frequencies.indices {
        frequencies[i] = (frequencies[i] + 1) / 2
        total += frequencies[i]
      }
    }
  }
}
