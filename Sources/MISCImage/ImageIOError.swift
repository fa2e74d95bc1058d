/// Why an image could not be read, decoded, encoded or written. Every case names its input.
public enum ImageIOError: Error, CustomStringConvertible, Sendable, Hashable {
  /// The file could not be opened or read; `reason` is the system's message.
  case unreadable(path: String, reason: String)
  /// The file holds no bytes.
  case empty(path: String)
  /// The bytes are not PNG or JPEG, or use a variant MISC does not decode (CMYK JPEG).
  case unsupportedFormat(path: String, reason: String)
  /// The decoder rejected the data as truncated or corrupt; `reason` is libpng's or TurboJPEG's message.
  case corrupt(path: String, format: ImageFormat, reason: String)
  /// The header declares more pixels than `maxPixels`; no pixel memory was allocated.
  case tooManyPixels(path: String, width: Int, height: Int, maxPixels: Int)
  /// Decoding the image would need more memory than is available; nothing was allocated.
  case notEnoughMemory(path: String, width: Int, height: Int, needed: Int, available: Int)
  /// Encoding failed; `reason` says why (a bad argument or the library's message).
  case encodingFailed(format: ImageFormat, reason: String)
  /// Writing failed; the destination was left as it was.
  case unwritable(path: String, reason: String)

  public var description: String {
    switch self {
    case let .unreadable(path, reason):
      return "\(path): cannot read file: \(reason)"
    case let .empty(path):
      return "\(path): file is empty"
    case let .unsupportedFormat(path, reason):
      return "\(path): unsupported image format: \(reason)"
    case let .corrupt(path, format, reason):
      return "\(path): corrupt or truncated \(format): \(reason)"
    case let .tooManyPixels(path, width, height, maxPixels):
      return "\(path): image is \(width)x\(height) pixels, more than the limit of \(maxPixels) pixels"
    case let .notEnoughMemory(path, width, height, needed, available):
      return "\(path): a \(width)x\(height) image needs about \(needed >> 20) MiB, more than the \(available >> 20) MiB available"
    case let .encodingFailed(format, reason):
      return "cannot encode \(format): \(reason)"
    case let .unwritable(path, reason):
      return "\(path): cannot write file: \(reason)"
    }
  }
}
