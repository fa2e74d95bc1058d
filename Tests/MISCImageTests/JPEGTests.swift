import Foundation
import Testing
import MISCImage

@Suite("JPEG reading and writing")
struct JPEGTests {
  @Test("encode then decode stays close", arguments: [75, 95])
  func roundTrip(quality: Int) throws {
    let image = TestSupport.gradientImage(width: 96, height: 64)
    let jpeg = try ImageIO.encodeJPEG(image, quality: quality)
    #expect(jpeg.starts(with: [0xFF, 0xD8, 0xFF]))
    let loaded = try ImageIO.decode(jpeg, name: "memory.jpg")
    #expect(loaded.format == .jpeg)
    #expect(loaded.image.width == 96 && loaded.image.height == 64)
    let total = zip(loaded.image.pixels, image.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
    let mean = Double(total) / Double(image.pixels.count)
    let worst = TestSupport.maxAbsDifference(loaded.image, image)
    print("JPEG q\(quality) round trip: \(jpeg.count) bytes, mean abs error \(mean), max \(worst)")
    #expect(mean < 2.0)
    #expect(worst < 16)
  }

  @Test("decoding matches Pillow's libjpeg-turbo", arguments: ["jpeg_rgb", "jpeg_grey", "jpeg_progressive"])
  func matchesPillow(name: String) throws {
    let loaded = try ImageIO.read(path: TestSupport.fixture(name + ".jpg"))
    let expected = try ImageIO.read(path: TestSupport.fixture(name + ".expected.png")).image
    let difference = TestSupport.maxAbsDifference(loaded.image, expected)
    print("\(name): max abs difference vs Pillow = \(difference)")
    #expect(difference <= 1)
  }

  @Test("CMYK JPEG is refused with a clear error")
  func cmyk() throws {
    let path = try TestSupport.fixture("jpeg_cmyk.jpg")
    #expect(throws: ImageIOError.unsupportedFormat(path: path, reason: "CMYK JPEG is not supported; convert it to RGB first")) {
      try ImageIO.read(path: path)
    }
  }

  @Test("truncated and garbled JPEGs give errors naming the input")
  func corrupt() throws {
    let jpeg = try ImageIO.encodeJPEG(TestSupport.noiseImage(width: 64, height: 48, seed: 3), quality: 90)
    let cases: [(String, [UInt8])] = [
      ("half.jpg", Array(jpeg.prefix(jpeg.count / 2))),
      ("header-only.jpg", Array(jpeg.prefix(200))),
      ("garbage.jpg", [0xFF, 0xD8, 0xFF] + Array(repeating: 0x42, count: 100)),
      ("soi-only.jpg", [0xFF, 0xD8, 0xFF]),
    ]
    for (name, bytes) in cases {
      let error = try #require(throws: ImageIOError.self) { try ImageIO.decode(bytes, name: name) }
      guard case let .corrupt(path, format, reason) = error else { Issue.record("\(name): got \(error)"); continue }
      #expect(path == name && format == .jpeg && !reason.isEmpty)
      print("\(name): \(error)")
    }
  }

  @Test("quality outside 1...100 is an encoding error")
  func badQuality() {
    let image = TestSupport.gradientImage(width: 8, height: 8)
    #expect(throws: ImageIOError.encodingFailed(format: .jpeg, reason: "quality 0 is outside 1...100")) {
      try ImageIO.encodeJPEG(image, quality: 0)
    }
  }
}
