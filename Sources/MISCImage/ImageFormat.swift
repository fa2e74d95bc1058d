/// The encoded image formats MISC reads, recognised by their magic bytes.
public enum ImageFormat: String, Sendable, Hashable, CustomStringConvertible {
  case png = "PNG"
  case jpeg = "JPEG"

  public var description: String { rawValue }

  /// The format whose signature starts `bytes`, or nil. File extensions are never consulted.
  public static func detect(_ bytes: [UInt8]) -> ImageFormat? {
    if bytes.starts(with: PNGCodec.signature) { return .png }
    if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
    return nil
  }

  /// A short name for a format MISC recognises but does not decode, for error messages.
  static func unsupportedName(_ bytes: [UInt8]) -> String? {
    func ascii(_ text: String, at offset: Int = 0) -> Bool {
      let magic = Array(text.utf8)
      return bytes.count >= offset + magic.count && Array(bytes[offset..<offset + magic.count]) == magic
    }
    if ascii("GIF87a") || ascii("GIF89a") { return "GIF" }
    if ascii("RIFF") && ascii("WEBP", at: 8) { return "WebP" }
    if ascii("BM") { return "BMP" }
    if bytes.starts(with: [0x49, 0x49, 0x2A, 0x00]) || bytes.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
    if ascii("ftypavif", at: 4) || ascii("ftypavis", at: 4) { return "AVIF" }
    if ascii("ftypheic", at: 4) || ascii("ftypheix", at: 4) || ascii("ftypmif1", at: 4) { return "HEIF" }
    if bytes.starts(with: [0xFF, 0x0A]) || ascii("\u{0}\u{0}\u{0}\u{C}JXL ") { return "JPEG XL" }
    if ascii("qoif") { return "QOI" }
    return nil
  }
}
