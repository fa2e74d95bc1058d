/// The paper's "pixel" image path, kept as a baseline: each channel of the downsampled thumbnail
/// is uniformly quantised to `bits` bits and the samples are written raw, 3·bits bits a pixel.
public enum PixelThumbnailCodec {
  /// The paper's setting: 5 bits a channel.
  public static let defaultBits = 5

  /// Bytes a `width × height` thumbnail takes at `bits` bits a channel.
  public static func byteCount(width: Int, height: Int, bits: Int = defaultBits) -> Int {
    (width * height * 3 * bits + 7) / 8
  }

  public static func encode(rgb: [UInt8], width: Int, height: Int, bits: Int = defaultBits) -> [UInt8] {
    precondition((1...8).contains(bits) && rgb.count == width * height * 3)
    var out = [UInt8](repeating: 0, count: byteCount(width: width, height: height, bits: bits))
    var position = 0
    for sample in rgb {
      let q = Int(sample) >> (8 - bits)
      for k in stride(from: bits - 1, through: 0, by: -1) {
        if (q >> k) & 1 == 1 { out[position >> 3] |= UInt8(0x80 >> (position & 7)) }
        position += 1
      }
    }
    return out
  }

  /// Each level decodes to the centre of its bin.
  public static func decode(_ bytes: [UInt8], width: Int, height: Int, bits: Int = defaultBits) throws -> [UInt8] {
    guard (1...8).contains(bits), width >= 1, height >= 1, width <= ThumbnailCodec.maxSide, height <= ThumbnailCodec.maxSide else {
      throw CodingError("pixel thumbnail", "unsupported size \(width)x\(height) or \(bits) bits")
    }
    guard bytes.count >= byteCount(width: width, height: height, bits: bits) else {
      throw CodingError("pixel thumbnail", "\(bytes.count) bytes, need \(byteCount(width: width, height: height, bits: bits))")
    }
    var rgb = [UInt8](repeating: 0, count: width * height * 3)
    var position = 0
    let half = bits < 8 ? 1 << (7 - bits) : 0
    for i in rgb.indices {
      var q = 0
      for _ in 0..<bits {
        q = (q << 1) | Int((bytes[position >> 3] >> (7 - UInt8(position & 7))) & 1)
        position += 1
      }
      rgb[i] = UInt8(min((q << (8 - bits)) + half, 255))
    }
    return rgb
  }
}
