import Foundation

/// Why bytes could not be read as a `.misc` file.
public enum ContainerError: Error, CustomStringConvertible, Sendable, Equatable {
  case empty
  case notMISC(firstByte: UInt8)
  case unsupportedVersion(Int)
  case truncated(length: Int)
  case checksumMismatch(stored: UInt16, computed: UInt16)
  case imageTooLarge(width: Int, height: Int, limit: Int)
  /// The file is far too small for the image it declares: likely a decompression bomb.
  case rateTooLow(width: Int, height: Int, bytes: Int, minBitsPerPixel: Double)
  case invalid(CodingError)

  public var description: String {
    switch self {
    case .empty:
      return "the file is empty"
    case let .notMISC(byte):
      return "not a .misc file (first byte 0x\(String(byte, radix: 16, uppercase: true)), expected 0x\(String(Container.magic | UInt8(Container.version), radix: 16, uppercase: true)))"
    case let .unsupportedVersion(v):
      return "format version \(v) is not supported by this decoder (it reads versions \(Container.readableVersions.lowerBound) to \(Container.readableVersions.upperBound))"
    case let .truncated(length):
      return "the file is truncated (\(length) bytes; a .misc file has at least \(Container.headerLength))"
    case let .checksumMismatch(stored, computed):
      return "the file is corrupt: check value 0x\(hex(stored)) stored, 0x\(hex(computed)) computed"
    case let .imageTooLarge(w, h, limit):
      return "the image is \(w)x\(h), above the limit of \(limit) pixels"
    case let .rateTooLow(w, h, bytes, bound):
      let bpp = Double(bytes * 8) / Double(w * h)
      return "the file declares a \(w)x\(h) image in \(bytes) bytes (\(bpp.formatted(significantDigits: 2)) bpp), below the bound of \(bound) bpp (the encoder writes at least 0.001): a decompression bomb?"
    case let .invalid(error):
      return "the file is corrupt: \(error)"
    }
  }
}

private extension Double {
  /// 0.0000083 rather than 8.3e-06.
  func formatted(significantDigits: Int) -> String {
    guard self > 0, isFinite else { return "\(self)" }
    let decimals = max(0, significantDigits - 1 - Int(log10(self).rounded(.down)))
    return String(format: "%.\(decimals)f", self)
  }
}

private func hex(_ v: UInt16) -> String {
  let s = String(v, radix: 16, uppercase: true)
  return String(repeating: "0", count: 4 - s.count) + s
}
