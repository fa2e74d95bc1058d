import Foundation
import Testing
import MISCImage

@Suite("PNG reading and writing")
struct PNGTests {
  @Test("write then read gives identical pixels", arguments: [(1, 1), (7, 3), (64, 48), (333, 1), (1, 257)])
  func roundTrip(size: (Int, Int)) throws {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    let image = TestSupport.noiseImage(width: size.0, height: size.1, seed: UInt64(size.0 * 1000 + size.1))
    let path = directory + "/round.png"
    try ImageIO.writePNG(image, to: path)
    let loaded = try ImageIO.read(path: path)
    #expect(loaded.image == image)
    #expect(loaded.format == .png)
    #expect(loaded.notices.isEmpty)
    #expect(try ImageIO.decode(ImageIO.encodePNG(image), name: "memory").image == image)
  }

  @Test("encodePNG is deterministic and starts with the PNG signature")
  func encodeInMemory() throws {
    let image = TestSupport.gradientImage(width: 40, height: 30)
    let first = try ImageIO.encodePNG(image)
    #expect(first.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    #expect(try ImageIO.encodePNG(image) == first)
  }

  static let variants: [(name: String, hasAlpha: Bool)] = [
    ("png_grey1", false), ("png_grey2_interlaced", false), ("png_grey4", false), ("png_grey8", false),
    ("png_grey16", false), ("png_grey8_trns", true), ("png_grey16_trns", true),
    ("png_rgb8_interlaced", false), ("png_rgb16", false), ("png_rgb8_trns", true),
    ("png_greyalpha8", true), ("png_greyalpha16", true), ("png_rgba8", true), ("png_rgba16_interlaced", true),
    ("png_palette1", false), ("png_palette4", false), ("png_palette8_trns", true), ("png_palette2_trns_interlaced", true),
  ]

  @Test("every colour type and bit depth decodes to the documented 8-bit RGB", arguments: variants)
  func variant(_ variant: (name: String, hasAlpha: Bool)) throws {
    let path = try TestSupport.fixture(variant.name + ".png")
    let loaded = try ImageIO.read(path: path)
    let expected = try ImageIO.read(path: TestSupport.fixture(variant.name + ".expected.png")).image
    #expect(loaded.image == expected, "max abs difference \(TestSupport.maxAbsDifference(loaded.image, expected))")
    if variant.hasAlpha {
      #expect(loaded.notices == ["\(path): alpha channel composited on white"])
    } else {
      #expect(loaded.notices.isEmpty)
    }
  }

  @Test("16-bit samples round with (v * 255 + 32767) / 65535")
  func sixteenBitRounding() throws {
    // 16-bit grey: 128 is 0.498 of a step (-> 0), 129 is 0.502 (-> 1), 257 * 200 is exactly 200.
    let values: [UInt16] = [0, 128, 129, 257 * 200, 65535]
    let raw: [UInt8] = [0] + values.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    let png = PNGTests.pngFile(width: values.count, height: 1, bitDepth: 16, colourType: 0, raw: raw)
    let loaded = try ImageIO.decode(png, name: "grey16.png")
    #expect(loaded.image.pixels == [0, 0, 1, 200, 255].flatMap { [$0, $0, $0] })
  }

  @Test("an opaque RGBA PNG gives no alpha notice")
  func opaqueAlphaIsSilent() throws {
    // 2x1 RGBA, both pixels opaque.
    let raw: [UInt8] = [0, 10, 20, 30, 255, 40, 50, 60, 255]
    let png = PNGTests.pngFile(width: 2, height: 1, bitDepth: 8, colourType: 6, raw: raw)
    let loaded = try ImageIO.decode(png, name: "opaque.png")
    #expect(loaded.image.pixels == [10, 20, 30, 40, 50, 60])
    #expect(loaded.notices.isEmpty)
  }

  /// A minimal PNG from filtered scanlines (`raw` includes the filter bytes).
  static func pngFile(width: Int, height: Int, bitDepth: UInt8, colourType: UInt8, raw: [UInt8]) -> [UInt8] {
    let ihdr = TestSupport.bigEndian(UInt32(width)) + TestSupport.bigEndian(UInt32(height)) + [bitDepth, colourType, 0, 0, 0]
    return TestSupport.pngSignature
      + TestSupport.pngChunk("IHDR", ihdr)
      + TestSupport.pngChunk("IDAT", zlibStored(raw))
      + TestSupport.pngChunk("IEND", [])
  }

  /// A zlib stream holding `data` in one stored (uncompressed) block.
  static func zlibStored(_ data: [UInt8]) -> [UInt8] {
    precondition(data.count < 65536)
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
    let length = UInt16(data.count)
    return [0x78, 0x01, 0x01, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
      + data + TestSupport.bigEndian(b << 16 | a)
  }
}
