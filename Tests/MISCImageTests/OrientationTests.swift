import Foundation
import Testing
import MISCImage

@Suite struct OrientationTests {
  /// A TIFF block holding only IFD0 with the orientation tag.
  static func tiff(_ orientation: Int, bigEndian: Bool) -> [UInt8] {
    func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
    func u32(_ v: Int) -> [UInt8] { bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
    return (bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]) + u16(42) + u32(8)
      + u16(1) + u16(0x0112) + u16(3) + u32(1) + u16(orientation) + [0, 0] + u32(0)
  }

  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
  }

  /// 32x16: the left half red, the right half blue.
  static let halves: Image = {
    var image = Image(width: 32, height: 16, fill: (0, 0, 255))
    for y in 0..<16 { for x in 0..<16 { image.pixels.replaceSubrange((y * 32 + x) * 3..<(y * 32 + x) * 3 + 3, with: [255, 0, 0]) } }
    return image
  }()

  static func isRed(_ image: Image, _ x: Int, _ y: Int) -> Bool {
    let i = (y * image.width + x) * 3
    return image.pixels[i] > 200 && image.pixels[i + 2] < 60
  }

  @Test func eachOrientationTurnsTheCornerItMoves() {
    // 3x2, pixel value = its index, so each output pixel says where it came from.
    let image = Image(width: 3, height: 2, pixels: (0..<6).flatMap { [UInt8($0), 0, 0] })
    let expected: [Orientation: (Int, Int, [UInt8])] = [
      .upright: (3, 2, [0, 1, 2, 3, 4, 5]),
      .mirrored: (3, 2, [2, 1, 0, 5, 4, 3]),
      .upsideDown: (3, 2, [5, 4, 3, 2, 1, 0]),
      .flipped: (3, 2, [3, 4, 5, 0, 1, 2]),
      .transposed: (2, 3, [0, 3, 1, 4, 2, 5]),
      .rotatedClockwise: (2, 3, [3, 0, 4, 1, 5, 2]),
      .transversed: (2, 3, [5, 2, 4, 1, 3, 0]),
      .rotatedCounterclockwise: (2, 3, [2, 5, 1, 4, 0, 3]),
    ]
    for (orientation, (w, h, order)) in expected {
      let out = orientation.apply(to: image)
      #expect(out.width == w && out.height == h && stride(from: 0, to: out.pixels.count, by: 3).map { out.pixels[$0] } == order, "\(orientation)")
    }
  }

  @Test(arguments: [false, true])
  func jpegWithExifOrientation6IsTurnedUpright(bigEndian: Bool) throws {
    let jpeg = try ImageIO.encodeJPEG(Self.halves, quality: 95)
    let exif = Array("Exif".utf8) + [0, 0] + Self.tiff(6, bigEndian: bigEndian)
    let app1: [UInt8] = [0xFF, 0xE1, UInt8((exif.count + 2) >> 8), UInt8((exif.count + 2) & 0xFF)] + exif
    let tagged = Array(jpeg.prefix(2)) + app1 + Array(jpeg.dropFirst(2))
    #expect(Orientation.read(tagged) == .rotatedClockwise)
    let loaded = try ImageIO.decode(tagged, name: "phone.jpg")
    #expect(loaded.image.width == 16 && loaded.image.height == 32)
    #expect(Self.isRed(loaded.image, 8, 4) && !Self.isRed(loaded.image, 8, 28), "the left half is now on top")
    #expect(loaded.notices.contains { $0.contains("phone.jpg") && $0.contains("orientation 6") && $0.contains("clockwise") })
    #expect(try ImageIO.decode(jpeg, name: "plain.jpg").notices.isEmpty)
  }

  @Test func pngWithExifChunkIsTurnedUpright() throws {
    let png = try ImageIO.encodePNG(Self.halves)
    let payload = Self.tiff(8, bigEndian: true)
    let typeAndData = Array("eXIf".utf8) + payload
    let crc = Self.crc32(typeAndData)
    let chunk = [0, 0, 0, UInt8(payload.count)] + typeAndData + [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
    let tagged = Array(png.prefix(33)) + chunk + Array(png.dropFirst(33))  // after the signature and IHDR
    #expect(Orientation.read(tagged) == .rotatedCounterclockwise)
    let loaded = try ImageIO.decode(tagged, name: "x.png")
    #expect(loaded.image.width == 16 && loaded.image.height == 32)
    #expect(!Self.isRed(loaded.image, 8, 4) && Self.isRed(loaded.image, 8, 28), "the left half is now at the bottom")
  }

  @Test func damagedExifIsIgnored() {
    for block in [[UInt8](), [0x49, 0x49, 42], [0x4D, 0x4D, 0, 42, 0xFF, 0xFF, 0xFF, 0xFF], Self.tiff(9, bigEndian: false)] {
      let exif = Array("Exif".utf8) + [0, 0] + block
      let bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE1, UInt8((exif.count + 2) >> 8), UInt8((exif.count + 2) & 0xFF)] + exif + [0xFF, 0xD9]
      #expect(Orientation.read(bytes) == nil)
    }
  }
}
