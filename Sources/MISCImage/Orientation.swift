/// The EXIF orientation of a photo (TIFF tag 0x0112, values 1...8): how the stored pixels
/// must be turned to stand upright. Phones store portrait photos sideways with orientation 6.
public enum Orientation: Int, Sendable, CaseIterable {
  case upright = 1, mirrored, upsideDown, flipped, transposed, rotatedClockwise, transversed, rotatedCounterclockwise

  /// What turning a stored image upright does, for the notice.
  public var correction: String {
    switch self {
    case .upright: return "none"
    case .mirrored: return "mirrored left to right"
    case .upsideDown: return "rotated 180°"
    case .flipped: return "flipped top to bottom"
    case .transposed: return "transposed"
    case .rotatedClockwise: return "rotated 90° clockwise"
    case .transversed: return "transversed"
    case .rotatedCounterclockwise: return "rotated 90° counter-clockwise"
    }
  }

  /// The orientation a JPEG (APP1 "Exif") or PNG (eXIf chunk) declares, or nil if none.
  public static func read(_ bytes: [UInt8]) -> Orientation? {
    switch ImageFormat.detect(bytes) {
    case .jpeg?: return jpegExif(bytes).flatMap(tiff)
    case .png?: return pngExif(bytes).flatMap(tiff)
    case nil: return nil
    }
  }

  /// `image` turned upright: the stored pixels as a viewer that honours EXIF shows them.
  public func apply(to image: Image) -> Image {
    if self == .upright { return image }
    let (w, h) = (image.width, image.height)
    let swaps = rawValue >= 5
    let (outWidth, outHeight) = swaps ? (h, w) : (w, h)
    var out = [UInt8](repeating: 0, count: image.pixels.count)
    image.pixels.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for y in 0..<outHeight {
          for x in 0..<outWidth {
            let (sx, sy): (Int, Int)
            switch self {
            case .upright: (sx, sy) = (x, y)
            case .mirrored: (sx, sy) = (w - 1 - x, y)
            case .upsideDown: (sx, sy) = (w - 1 - x, h - 1 - y)
            case .flipped: (sx, sy) = (x, h - 1 - y)
            case .transposed: (sx, sy) = (y, x)
            case .rotatedClockwise: (sx, sy) = (y, h - 1 - x)
            case .transversed: (sx, sy) = (w - 1 - y, h - 1 - x)
            case .rotatedCounterclockwise: (sx, sy) = (w - 1 - y, x)
            }
            let s = (sy * w + sx) * 3, d = (y * outWidth + x) * 3
            dst[d] = src[s]
            dst[d + 1] = src[s + 1]
            dst[d + 2] = src[s + 2]
          }
        }
      }
    }
    return Image(width: outWidth, height: outHeight, pixels: out)
  }

  /// The TIFF block of the first APP1 "Exif\0\0" segment before the image data.
  private static func jpegExif(_ bytes: [UInt8]) -> ArraySlice<UInt8>? {
    var i = 2
    while i + 4 <= bytes.count, bytes[i] == 0xFF {
      let marker = bytes[i + 1]
      if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
      if marker == 0xDA || marker == 0xD9 { return nil }  // start of scan: no metadata follows
      let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
      guard length >= 2, i + 2 + length <= bytes.count else { return nil }
      let body = bytes[(i + 4)..<(i + 2 + length)]
      if marker == 0xE1, body.starts(with: Array("Exif".utf8) + [0, 0]) { return body.dropFirst(6) }
      i += 2 + length
    }
    return nil
  }

  /// The payload of the PNG eXIf chunk, a TIFF block.
  private static func pngExif(_ bytes: [UInt8]) -> ArraySlice<UInt8>? {
    var i = 8
    while i + 12 <= bytes.count {
      let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
      guard length >= 0, length <= bytes.count - i - 12 else { return nil }
      let type = bytes[(i + 4)..<(i + 8)]
      if type.elementsEqual("eXIf".utf8) { return bytes[(i + 8)..<(i + 8 + length)] }
      if type.elementsEqual("IEND".utf8) { return nil }
      i += 12 + length
    }
    return nil
  }

  /// Tag 0x0112 of IFD0 in a TIFF block ("II" or "MM" byte order).
  private static func tiff(_ block: ArraySlice<UInt8>) -> Orientation? {
    let t = Array(block)
    guard t.count >= 8 else { return nil }
    let little: Bool
    switch (t[0], t[1]) {
    case (0x49, 0x49): little = true
    case (0x4D, 0x4D): little = false
    default: return nil
    }
    func u16(_ at: Int) -> Int? {
      guard at >= 0, at + 2 <= t.count else { return nil }
      return little ? Int(t[at]) | Int(t[at + 1]) << 8 : Int(t[at]) << 8 | Int(t[at + 1])
    }
    func u32(_ at: Int) -> Int? {
      guard let a = u16(at), let b = u16(at + 2) else { return nil }
      return little ? a | b << 16 : a << 16 | b
    }
    guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
    for entry in 0..<count {
      let at = ifd + 2 + entry * 12
      guard let tag = u16(at) else { return nil }
      if tag == 0x0112 {
        guard u16(at + 2) == 3, let value = u16(at + 8) else { return nil }  // SHORT
        return Orientation(rawValue: value)
      }
    }
    return nil
  }
}
