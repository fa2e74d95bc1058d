/// Codes the binary item maps of a file with a context model over neighbouring cells.
///
/// Each map first says whether it is uniform (probability 0.6, ≈0.74 bits) and, if so, which
/// value it holds (1 bit), so an empty or full map costs under 2 bits. Other maps code each
/// cell in raster order with an adaptive bit chosen by its west, north, north-west and
/// north-east neighbours (16 contexts, shared by all maps of a file).
public struct MapCoder: Sendable {
  private let uniformP1: UInt32
  private var contexts: [AdaptiveBit]

  /// A coder at the start of a file of the format `profile` (`FormatProfile.Maps`: the uniform
  /// flag's probability 0.6, and priors by which a cell tends to agree with its neighbours).
  public init(profile: FormatProfile = .current) {
    let maps = profile.maps
    uniformP1 = maps.uniformP1
    contexts = (0..<16).map { context in
      AdaptiveBit(p1: maps.neighbourP1[context.nonzeroBitCount], limit: maps.adaptationLimit)
    }
  }

  public mutating func encode(_ map: BinaryMap, to encoder: inout RangeEncoder) {
    let uniform = map.isEmpty || map.isFull
    encoder.encode(bit: uniform, p1: uniformP1)
    if uniform {
      encoder.encodeBits(map.isFull ? 1 : 0, count: 1)
      return
    }
    for y in 0..<map.height {
      for x in 0..<map.width {
        contexts[Self.context(map, x, y)].encode(map[x, y], to: &encoder)
      }
    }
  }

  public mutating func decode(width: Int, height: Int, from decoder: inout RangeDecoder) throws -> BinaryMap {
    guard BinaryMap.sideRange.contains(width), BinaryMap.sideRange.contains(height) else {
      throw CodingError("map", "grid \(width)x\(height) is outside \(BinaryMap.sideRange)")
    }
    if decoder.decodeBit(p1: uniformP1) {
      return BinaryMap(width: width, height: height, fill: decoder.decodeBits(count: 1) == 1)
    }
    var map = BinaryMap(width: width, height: height)
    for y in 0..<height {
      for x in 0..<width {
        map[x, y] = contexts[Self.context(map, x, y)].decode(from: &decoder)
      }
    }
    return map
  }

  private static func context(_ map: BinaryMap, _ x: Int, _ y: Int) -> Int {
    let w = x > 0 && map[x - 1, y]
    let n = y > 0 && map[x, y - 1]
    let nw = x > 0 && y > 0 && map[x - 1, y - 1]
    let ne = x + 1 < map.width && y > 0 && map[x + 1, y - 1]
    return (w ? 1 : 0) | (n ? 2 : 0) | (nw ? 4 : 0) | (ne ? 8 : 0)
  }
}
