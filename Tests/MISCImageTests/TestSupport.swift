import Foundation
import Testing
import MISCImage

/// Paths and small builders shared by the MISCImage tests.
enum TestSupport {
  /// The absolute path of a committed fixture file.
  static func fixture(_ name: String) throws -> String {
    let directory = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return directory.appendingPathComponent(name).path
  }

  /// A fresh empty directory, removed by `removeDirectory`.
  static func makeTemporaryDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("MISCImageTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
  }

  static func removeDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
  }

  static func contents(ofDirectory path: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
  }

  static func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  /// A reproducible noise image (SplitMix64).
  static func noiseImage(width: Int, height: Int, seed: UInt64) -> Image {
    var state = seed
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for i in pixels.indices {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      pixels[i] = UInt8(truncatingIfNeeded: z ^ (z >> 31))
    }
    return Image(width: width, height: height, pixels: pixels)
  }

  /// A smooth colour ramp, friendly to lossy codecs.
  static func gradientImage(width: Int, height: Int) -> Image {
    var image = Image(width: width, height: height, fill: (0, 0, 0))
    for y in 0..<height {
      for x in 0..<width {
        image[x, y, 0] = UInt8(x * 255 / max(width - 1, 1))
        image[x, y, 1] = UInt8(y * 255 / max(height - 1, 1))
        image[x, y, 2] = UInt8((x + y) * 127 / max(width + height - 2, 1))
      }
    }
    return image
  }

  /// The largest per-sample difference between two images of the same size.
  static func maxAbsDifference(_ a: Image, _ b: Image) -> Int {
    precondition(a.width == b.width && a.height == b.height)
    return zip(a.pixels, b.pixels).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
  }

  static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

  /// A PNG chunk: length, type, data, CRC-32.
  static func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
  }

  static func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
  }

  /// CRC-32 (ISO-HDLC), as PNG chunks use.
  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
  }
}
