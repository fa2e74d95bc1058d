/// The thumbnail codec: a lossy, header-free codec for tiny RGB images (1...256 per side).
///
/// Placeholder of the foundation issue: the paper's pixel path (uniform quantisation of each
/// channel) with MED prediction and adaptive arithmetic coding of the residuals. The quality
/// index is coded in the stream; the dimensions come from the container.
public enum ThumbnailCodec {
  /// Quality indices run `0..<qualityLevels`; higher spends more bytes for a better image.
  public static let qualityLevels = 8
  /// The largest side the codec accepts.
  public static let maxSide = 256

  private static let steps: [Int] = [48, 36, 28, 22, 16, 12, 8, 5]

  public static func encode(rgb: [UInt8], width: Int, height: Int, quality: Int, to encoder: inout RangeEncoder) {
    precondition(rgb.count == width * height * 3 && (0..<qualityLevels).contains(quality))
    encoder.encodeBits(UInt32(quality), count: 3)
    let step = steps[quality]
    var state = ResidualModels()
    var recon = [Int](repeating: 0, count: rgb.count)
    for y in 0..<height {
      for x in 0..<width {
        for c in 0..<3 {
          let i = (y * width + x) * 3 + c
          let pred = predict(recon, x, y, c, width)
          let r = (Int(rgb[i]) - pred)
          let q = r >= 0 ? (r + step / 2) / step : -((-r + step / 2) / step)
          state.encode(q, channel: c, to: &encoder)
          recon[i] = min(255, max(0, pred + q * step))
        }
      }
    }
  }

  public static func decode(width: Int, height: Int, from decoder: inout RangeDecoder) throws -> [UInt8] {
    guard width > 0, height > 0, width <= maxSide, height <= maxSide else {
      throw CodingError("thumbnail", "size \(width)x\(height) is outside 1...\(maxSide)")
    }
    let quality = Int(decoder.decodeBits(count: 3))
    let step = steps[quality]
    var state = ResidualModels()
    var recon = [Int](repeating: 0, count: width * height * 3)
    for y in 0..<height {
      for x in 0..<width {
        for c in 0..<3 {
          let i = (y * width + x) * 3 + c
          let pred = predict(recon, x, y, c, width)
          let q = state.decode(channel: c, from: &decoder)
          recon[i] = min(255, max(0, pred + q * step))
        }
      }
    }
    return recon.map { UInt8($0) }
  }

  /// LOCO-I's median edge detector over already-decoded neighbours.
  private static func predict(_ p: [Int], _ x: Int, _ y: Int, _ c: Int, _ width: Int) -> Int {
    let a = x > 0 ? p[(y * width + x - 1) * 3 + c] : (y > 0 ? p[((y - 1) * width + x) * 3 + c] : 128)
    let b = y > 0 ? p[((y - 1) * width + x) * 3 + c] : a
    let d = (x > 0 && y > 0) ? p[((y - 1) * width + x - 1) * 3 + c] : b
    if d >= max(a, b) { return min(a, b) }
    if d <= min(a, b) { return max(a, b) }
    return a + b - d
  }

  /// Zero flag, sign and an Elias-gamma magnitude, all on adaptive bits per channel.
  private struct ResidualModels {
    var zero = [AdaptiveBit](repeating: AdaptiveBit(), count: 3)
    var sign = [AdaptiveBit](repeating: AdaptiveBit(), count: 3)
    var unary = [[AdaptiveBit]](repeating: [AdaptiveBit](repeating: AdaptiveBit(), count: 10), count: 3)

    mutating func encode(_ q: Int, channel c: Int, to encoder: inout RangeEncoder) {
      zero[c].encode(q == 0, to: &encoder)
      if q == 0 { return }
      sign[c].encode(q < 0, to: &encoder)
      let m = UInt32(abs(q))  // >= 1
      let bits = 32 - m.leadingZeroBitCount  // 1...
      for k in 0..<(bits - 1) { unary[c][min(k, 9)].encode(true, to: &encoder) }
      unary[c][min(bits - 1, 9)].encode(false, to: &encoder)
      encoder.encodeBits(m, count: bits - 1)
    }

    mutating func decode(channel c: Int, from decoder: inout RangeDecoder) -> Int {
      if zero[c].decode(from: &decoder) { return 0 }
      let negative = sign[c].decode(from: &decoder)
      var bits = 1
      while bits < 10 && unary[c][min(bits - 1, 9)].decode(from: &decoder) { bits += 1 }
      let m = Int((1 << UInt32(bits - 1)) | decoder.decodeBits(count: bits - 1))
      return negative ? -m : m
    }
  }

  /// Encode into a standalone byte string (for benchmarks; `.misc` files share one stream).
  public static func encode(rgb: [UInt8], width: Int, height: Int, quality: Int) -> [UInt8] {
    var encoder = RangeEncoder()
    encode(rgb: rgb, width: width, height: height, quality: quality, to: &encoder)
    return encoder.finish()
  }

  /// Decode a standalone byte string from `encode(rgb:width:height:quality:)`.
  public static func decode(_ bytes: [UInt8], width: Int, height: Int) throws -> [UInt8] {
    var decoder = RangeDecoder(bytes)
    return try decode(width: width, height: height, from: &decoder)
  }
}
