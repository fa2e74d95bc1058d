/// Integer logistic functions for the text model's mixer: `squash` maps the stretched domain
/// (natural-log odds × 256, clamped to ±2047) to a 16-bit probability, `stretch` inverts it.
///
/// Both are tables built by integer code from 129 committed knots, so every machine computes
/// the same values: no floating point ever decides a probability.
enum TextLogistic {
  /// round(65536 / (1 + e^-((k - 64) / 8))) for k = 0...128, i.e. x = 32·(k - 64); generated once
  /// by `python3 -c "import math; print([round(65536/(1+math.exp(-(k-64)/8))) for k in range(129)])"`.
  static let knots: [Int32] = [
    22, 25, 28, 32, 36, 41, 47, 53, 60, 68, 77, 87,
    98, 111, 126, 143, 162, 184, 208, 236, 267, 302, 342, 387,
    439, 497, 562, 636, 720, 815, 922, 1042, 1179, 1333, 1506, 1701,
    1921, 2168, 2446, 2758, 3108, 3500, 3938, 4427, 4971, 5577, 6249, 6992,
    7812, 8714, 9702, 10782, 11955, 13226, 14595, 16062, 17625, 19282, 21025, 22849,
    24743, 26695, 28693, 30723, 32768, 34813, 36843, 38841, 40793, 42687, 44511, 46254,
    47911, 49474, 50941, 52310, 53581, 54754, 55834, 56822, 57724, 58544, 59287, 59959,
    60565, 61109, 61598, 62036, 62428, 62778, 63090, 63368, 63615, 63835, 64030, 64203,
    64357, 64494, 64614, 64721, 64816, 64900, 64974, 65039, 65097, 65149, 65194, 65234,
    65269, 65300, 65328, 65352, 65374, 65393, 65410, 65425, 65438, 65449, 65459, 65468,
    65476, 65483, 65489, 65495, 65500, 65504, 65508, 65511, 65514,
  ]

  /// squash(x) for x = -2048...2047, indexed by x + 2048: linear interpolation between knots.
  static let squashTable: [UInt16] = (0..<4096).map { i in
    let k = i >> 5
    let f = Int32(i & 31)
    let a = knots[k], b = knots[k + 1]
    return UInt16(a + (((b - a) * f + 16) >> 5))
  }

  /// stretch(p) for 12-bit probabilities p = 0...4095 (a 16-bit probability shifted right by 4):
  /// the x whose squash is nearest the bucket's centre.
  static let stretchTable: [Int16] = {
    var table = [Int16](repeating: 0, count: 4096)
    var x = 0  // index into squashTable, monotone in p
    for p in 0..<4096 {
      let target = UInt16(p * 16 + 8)
      while x < 4095 && squashTable[x] < target { x += 1 }
      // choose between x-1 and x, whichever squash is closer to target
      if x > 0 && Int(target) - Int(squashTable[x - 1]) < Int(squashTable[x]) - Int(target) {
        table[p] = Int16(x - 1 - 2048)
      } else {
        table[p] = Int16(x - 2048)
      }
    }
    return table
  }()

  @inline(__always)
  static func squash(_ x: Int32) -> UInt32 {
    let c = min(max(x, -2047), 2047)
    return UInt32(squashTable[Int(c) + 2048])
  }

  @inline(__always)
  static func stretch(_ p16: UInt32) -> Int32 {
    Int32(stretchTable[Int(min(p16, 65535) >> 4)])
  }
}
