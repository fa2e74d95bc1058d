import Testing
@testable import MISCCoding

/// A small deterministic generator so failures reproduce (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// One coding operation, replayed identically by the encoder and the decoder.
enum Op {
  case bit(Bool, model: Int)
  case symbol(Int, model: Int)
  case raw(UInt32, count: Int)
  case fixedBit(Bool, p1: UInt32)
}

func roundTrip(_ ops: [Op], bitModels: Int = 4, symbolModels: Int = 2, alphabet: Int = 37) -> [UInt8] {
  var encoder = RangeEncoder()
  var bits = [AdaptiveBit](repeating: AdaptiveBit(), count: bitModels)
  var symbols = [AdaptiveSymbolModel](repeating: AdaptiveSymbolModel(count: alphabet), count: symbolModels)
  for op in ops {
    switch op {
    case let .bit(b, m): bits[m].encode(b, to: &encoder)
    case let .symbol(s, m): symbols[m].encode(s, to: &encoder)
    case let .raw(v, n): encoder.encodeBits(v, count: n)
    case let .fixedBit(b, p): encoder.encode(bit: b, p1: p)
    }
  }
  let bytes = encoder.finish()
  var decoder = RangeDecoder(bytes)
  bits = [AdaptiveBit](repeating: AdaptiveBit(), count: bitModels)
  symbols = [AdaptiveSymbolModel](repeating: AdaptiveSymbolModel(count: alphabet), count: symbolModels)
  for (index, op) in ops.enumerated() {
    switch op {
    case let .bit(b, m):
      let d = bits[m].decode(from: &decoder)
      #expect(d == b, "bit \(index)")
      if d != b { return bytes }
    case let .symbol(s, m):
      let d = symbols[m].decode(from: &decoder)
      #expect(d == s, "symbol \(index)")
      if d != s { return bytes }
    case let .raw(v, n):
      let mask: UInt64 = (1 << UInt64(n)) - 1
      let d = decoder.decodeBits(count: n)
      #expect(UInt64(d) == UInt64(v) & mask, "raw \(index)")
      if UInt64(d) != UInt64(v) & mask { return bytes }
    case let .fixedBit(b, p):
      let d = decoder.decodeBit(p1: p)
      #expect(d == b, "fixed bit \(index)")
      if d != b { return bytes }
    }
  }
  return bytes
}

@Suite struct RangeCoderTests {
  @Test func emptyStreamIsEmpty() {
    var encoder = RangeEncoder()
    #expect(encoder.finish().isEmpty)
  }

  @Test(arguments: 0..<40)
  func randomMixedStreams(seed: Int) {
    var rng = SplitMix64(seed: UInt64(seed))
    let count = Int.random(in: 0...3000, using: &rng)
    let skew = Double.random(in: 0...1, using: &rng)
    var ops: [Op] = []
    for _ in 0..<count {
      switch Int.random(in: 0..<4, using: &rng) {
      case 0: ops.append(.bit(Double.random(in: 0...1, using: &rng) < skew, model: Int.random(in: 0..<4, using: &rng)))
      case 1: ops.append(.symbol(Int.random(in: 0..<37, using: &rng) % max(1, Int(skew * 37) + 1), model: Int.random(in: 0..<2, using: &rng)))
      case 2: ops.append(.raw(UInt32.random(in: 0...UInt32.max, using: &rng), count: Int.random(in: 0...32, using: &rng)))
      default: ops.append(.fixedBit(Bool.random(using: &rng), p1: UInt32.random(in: 1...65535, using: &rng)))
      }
    }
    _ = roundTrip(ops)
  }

  /// Long runs of near-certain symbols push `low` into long 0xFF carry chains.
  @Test func adversarialCarryChains() {
    for p in [UInt32(1), 2, 65534, 65535] {
      for bit in [false, true] {
        _ = roundTrip(Array(repeating: .fixedBit(bit, p1: p), count: 20_000))
      }
    }
    var rng = SplitMix64(seed: 7)
    var ops: [Op] = []
    for _ in 0..<20_000 {
      ops.append(.fixedBit(UInt32.random(in: 0..<1000, using: &rng) == 0, p1: 65535))
      ops.append(.raw(0xFFFF_FFFF, count: 32))
    }
    _ = roundTrip(ops)
  }

  @Test func skewedModelCompressesWell() {
    let ops = [Op](repeating: .bit(false, model: 0), count: 10_000)
    let bytes = roundTrip(ops)
    #expect(bytes.count < 40, "10,000 certain bits took \(bytes.count) bytes")
  }

  @Test func rawBitsCostWhatTheyShould() {
    var rng = SplitMix64(seed: 3)
    let ops = (0..<1000).map { _ in Op.raw(UInt32.random(in: 0...UInt32.max, using: &rng), count: 8) }
    let bytes = roundTrip(ops)
    #expect((1000...1002).contains(bytes.count))
  }

  @Test func bitCountTracksOutputLength() {
    var encoder = RangeEncoder()
    var model = AdaptiveBit()
    var rng = SplitMix64(seed: 11)
    for _ in 0..<5000 { model.encode(Double.random(in: 0...1, using: &rng) < 0.2, to: &encoder) }
    let estimate = encoder.bitCount
    let bytes = encoder.finish()
    #expect(abs(Double(bytes.count * 8) - estimate) <= 16)
  }

  @Test func decoderSurvivesGarbage() {
    var rng = SplitMix64(seed: 5)
    for _ in 0..<200 {
      let bytes = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      var decoder = RangeDecoder(bytes)
      var symbols = AdaptiveSymbolModel(count: 300)
      var bit = AdaptiveBit()
      for _ in 0..<500 {
        _ = symbols.decode(from: &decoder)
        _ = bit.decode(from: &decoder)
        _ = decoder.decodeBits(count: 13)
      }
    }
  }

  @Test func crc16MatchesTheCatalogueCheckValue() {
    #expect(CRC16.checksum(Array("123456789".utf8)) == 0x29B1)
  }
}
