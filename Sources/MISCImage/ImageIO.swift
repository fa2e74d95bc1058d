/// Reading and writing PNG and JPEG files as `Image`s.
///
/// Decoding converts every input to 8-bit RGB: 16-bit samples are rounded to 8 bits with
/// `(v * 255 + 32767) / 65535`, grey is replicated, and alpha is composited on white.
/// Formats are recognised by magic bytes, never by file extension. An EXIF orientation (JPEG
/// APP1, PNG eXIf) is applied, so images come out upright, with a notice saying so.
public enum ImageIO {
  /// The largest image, in pixels, that `read` and `decode` accept unless told otherwise:
  /// 100 million (10000x10000, about 300 MB as RGB). A larger header is refused before any pixel
  /// memory is allocated; pass `maxPixels:` (e.g. from a CLI flag) to change it.
  public static let defaultMaxPixels = 100_000_000

  /// Reads and decodes the PNG or JPEG file at `path`. Files larger than an image of `maxPixels`
  /// could need (8 bytes a pixel, plus 64 MiB for metadata) are refused unread.
  public static func read(path: String, maxPixels: Int = defaultMaxPixels) throws -> LoadedImage {
    let bytes = try readFileBytes(path, maxBytes: maxFileBytes(maxPixels: maxPixels))
    return try decode(bytes, name: path, maxPixels: maxPixels)
  }

  /// The largest file an image of `maxPixels` could need: 8 bytes a pixel plus 64 MiB of metadata.
  public static func maxFileBytes(maxPixels: Int) -> Int {
    let metadata = 64 << 20
    return maxPixels > (Int.max - metadata) / 8 ? Int.max : max(0, maxPixels) * 8 + metadata
  }

  /// Decodes PNG or JPEG `bytes`; `name` (usually the path) labels errors and notices.
  public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = defaultMaxPixels) throws -> LoadedImage {
    if bytes.isEmpty { throw ImageIOError.empty(path: name) }
    var loaded: LoadedImage
    switch ImageFormat.detect(bytes) {
    case .png:
      loaded = try PNGCodec.decode(bytes, name: name, maxPixels: maxPixels)
    case .jpeg:
      loaded = try JPEGCodec.decode(bytes, name: name, maxPixels: maxPixels)
    case nil:
      let reason: String
      if let other = ImageFormat.unsupportedName(bytes) {
        reason = "\(other) is not supported; convert it to PNG or JPEG"
      } else {
        let head = bytes.prefix(8).map { byte in
          let hex = String(byte, radix: 16, uppercase: true)
          return byte < 16 ? "0" + hex : hex
        }
        reason = "not a PNG or JPEG (starts with \(head.joined(separator: " ")))"
      }
      throw ImageIOError.unsupportedFormat(path: name, reason: reason)
    }
    // A photo is encoded as a viewer shows it: upright, whatever the camera stored.
    if let orientation = Orientation.read(bytes), orientation != .upright {
      loaded.image = orientation.apply(to: loaded.image)
      loaded.notices.append("\(name): EXIF orientation \(orientation.rawValue): \(orientation.correction) to stand upright")
    }
    return loaded
  }

  /// Encodes `image` as an 8-bit RGB PNG in memory.
  public static func encodePNG(_ image: Image) throws -> [UInt8] {
    try PNGCodec.encode(image)
  }

  /// Encodes `image` as a baseline 4:2:0 JPEG in memory; `quality` is 1...100.
  public static func encodeJPEG(_ image: Image, quality: Int = 90) throws -> [UInt8] {
    try JPEGCodec.encode(image, quality: quality)
  }

  /// Writes `image` as an 8-bit RGB PNG to `path`, atomically (see `writeFileAtomically`).
  public static func writePNG(_ image: Image, to path: String) throws {
    try writeFileAtomically(try encodePNG(image), to: path)
  }

  /// Peak bytes a pixel while decoding a file, checked against the available memory.
  static let decodeBytesPerPixel = 11

  /// Throws `tooManyPixels` unless a `width` x `height` header fits in `maxPixels`.
  static func checkPixelLimit(width: Int, height: Int, maxPixels: Int, name: String) throws {
    let (count, overflow) = width.multipliedReportingOverflow(by: height)
    if overflow || count > maxPixels {
      throw ImageIOError.tooManyPixels(path: name, width: width, height: height, maxPixels: maxPixels)
    }
    // The decoded samples (up to 16-bit RGBA while converting) and the 8-bit RGB result.
    try AvailableMemory.check(width: width, height: height, bytesPerPixel: decodeBytesPerPixel, name: name)
  }
}
