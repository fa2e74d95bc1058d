import Foundation
import Testing
import MISCImage

@Suite("ImageIO refuses bad input with errors that name the file")
struct ImageIOErrorTests {
  /// Writes `bytes` to a temporary file called `name`, reads it back, and returns the error.
  private func readError(_ bytes: [UInt8], name: String, maxPixels: Int = ImageIO.defaultMaxPixels) throws -> (ImageIOError, String) {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    let path = directory + "/" + name
    try TestSupport.write(bytes, to: path)
    let error = try #require(throws: ImageIOError.self) { try ImageIO.read(path: path, maxPixels: maxPixels) }
    let text = error.description
    #expect(text.contains(path), "error does not name the file: \(text)")
    #expect(!text.contains("\n"), "error is not one line: \(text)")
    return (error, path)
  }

  private func noisePNG() throws -> [UInt8] {
    try ImageIO.encodePNG(TestSupport.noiseImage(width: 64, height: 48, seed: 7))
  }

  @Test("empty file")
  func emptyFile() throws {
    let (error, path) = try readError([], name: "empty.png")
    #expect(error == .empty(path: path))
  }

  @Test("missing file and directory")
  func unreadable() throws {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    let missing = directory + "/nope.png"
    let error = try #require(throws: ImageIOError.self) { try ImageIO.read(path: missing) }
    guard case let .unreadable(path, reason) = error else { Issue.record("got \(error)"); return }
    #expect(path == missing && reason.contains("No such file"))
    let directoryError = try #require(throws: ImageIOError.self) { try ImageIO.read(path: directory) }
    #expect(directoryError == .unreadable(path: directory, reason: "is a directory"))
  }

  @Test("unknown bytes and recognised-but-unsupported formats")
  func unknownFormat() throws {
    let (error, _) = try readError(Array("hello, world".utf8), name: "text.png")
    guard case let .unsupportedFormat(_, reason) = error else { Issue.record("got \(error)"); return }
    #expect(reason.contains("not a PNG or JPEG"))
    let (gif, _) = try readError(Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0], name: "anim.gif")
    guard case let .unsupportedFormat(_, gifReason) = gif else { Issue.record("got \(gif)"); return }
    #expect(gifReason.contains("GIF"))
  }

  @Test("the format comes from magic bytes, not the extension")
  func magicBytesWin() throws {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    let path = directory + "/actually-a-png.jpg"
    try TestSupport.write(try noisePNG(), to: path)
    #expect(try ImageIO.read(path: path).format == .png)
  }

  @Test("truncated PNG", arguments: [0.5, 0.9])
  func truncatedPNG(fraction: Double) throws {
    let png = try noisePNG()
    let (error, _) = try readError(Array(png.prefix(Int(Double(png.count) * fraction))), name: "cut.png")
    guard case let .corrupt(_, format, reason) = error else { Issue.record("got \(error)"); return }
    #expect(format == .png)
    #expect(reason.hasPrefix("libpng: "))
    print("truncated PNG: \(error)")
  }

  @Test("PNG missing its IEND chunk")
  func pngWithoutEnd() throws {
    let png = try noisePNG()
    let (error, _) = try readError(Array(png.dropLast(12)), name: "noend.png")
    guard case .corrupt(_, .png, _) = error else { Issue.record("got \(error)"); return }
  }

  @Test("PNG with a damaged IDAT: bad CRC, and bad deflate data under a good CRC")
  func corruptPNG() throws {
    let png = try noisePNG()
    // The IDAT chunk follows the signature (8) and IHDR (25): length, type, data, CRC.
    let length = png[33..<37].reduce(0) { $0 << 8 | Int($1) }
    let dataStart = 41, crcOffset = 41 + length

    var badCRC = png
    badCRC[crcOffset] ^= 0xFF
    let (crcError, _) = try readError(badCRC, name: "crc.png")
    guard case let .corrupt(_, .png, crcReason) = crcError else { Issue.record("got \(crcError)"); return }
    #expect(crcReason.contains("CRC"))

    // Damage the deflate block header and fix the CRC, so libpng has to inflate bad data.
    var badData = png
    badData[dataStart + 2] ^= 0xFF
    let body = Array(badData[37..<crcOffset])
    badData.replaceSubrange(crcOffset..<crcOffset + 4, with: TestSupport.bigEndian(TestSupport.crc32(body)))
    let (inflateError, _) = try readError(badData, name: "inflate.png")
    guard case .corrupt(_, .png, _) = inflateError else { Issue.record("got \(inflateError)"); return }
    print("damaged PNG: \(crcError) / \(inflateError)")
  }

  @Test("a PNG header claiming 100000x100000 fails on the pixel limit before decoding")
  func pngPixelLimit() throws {
    let ihdr = TestSupport.bigEndian(100_000) + TestSupport.bigEndian(100_000) + [8, 2, 0, 0, 0]
    let png = TestSupport.pngSignature + TestSupport.pngChunk("IHDR", ihdr)
      + TestSupport.pngChunk("IDAT", [0x78, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + TestSupport.pngChunk("IEND", [])
    let start = ContinuousClock.now
    let (error, path) = try readError(png, name: "huge.png")
    #expect(error == .tooManyPixels(path: path, width: 100_000, height: 100_000, maxPixels: ImageIO.defaultMaxPixels))
    #expect(ContinuousClock.now - start < .seconds(5))
    // The bare header alone (truncated right after IHDR) also fails on the limit, not on truncation.
    let (bare, barePath) = try readError(TestSupport.pngSignature + TestSupport.pngChunk("IHDR", ihdr), name: "header-only.png")
    #expect(bare == .tooManyPixels(path: barePath, width: 100_000, height: 100_000, maxPixels: ImageIO.defaultMaxPixels))
  }

  @Test("maxPixels is honoured exactly for PNG and JPEG")
  func customPixelLimit() throws {
    let image = TestSupport.gradientImage(width: 10, height: 10)
    for bytes in [try ImageIO.encodePNG(image), try ImageIO.encodeJPEG(image)] {
      #expect(throws: ImageIOError.tooManyPixels(path: "small", width: 10, height: 10, maxPixels: 99)) {
        try ImageIO.decode(bytes, name: "small", maxPixels: 99)
      }
      #expect(try ImageIO.decode(bytes, name: "small", maxPixels: 100).image.width == 10)
    }
  }

  @Test("random damage to PNG and JPEG data never crashes: it decodes or throws")
  func mutations() throws {
    let image = TestSupport.noiseImage(width: 40, height: 30, seed: 5)
    let originals = [try ImageIO.encodePNG(image), try ImageIO.encodeJPEG(image, quality: 80)]
    var state: UInt64 = 0x1234_5678
    func next(_ bound: Int) -> Int {
      state = state &* 6364136223846793005 &+ 1442695040888963407
      return Int((state >> 33) % UInt64(bound))
    }
    var failures = 0, decoded = 0
    for original in originals {
      for round in 0..<300 {
        var bytes = original
        if round % 3 == 0 {
          bytes = Array(bytes.prefix(next(bytes.count)))
        } else {
          for _ in 0...next(8) { bytes[next(bytes.count)] = UInt8(next(256)) }
        }
        do {
          let loaded = try ImageIO.decode(bytes, name: "mutant", maxPixels: 1_000_000)
          #expect(loaded.image.pixels.count == loaded.image.width * loaded.image.height * 3)
          decoded += 1
        } catch let error as ImageIOError {
          #expect(error.description.hasPrefix("mutant: "))
          failures += 1
        }
      }
    }
    print("mutations: \(failures) refused, \(decoded) decoded")
    #expect(failures > 0)
  }

  @Test("read refuses a file longer than maxBytes")
  func fileSizeLimit() throws {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    let path = directory + "/big.bin"
    try TestSupport.write(Array(repeating: 0, count: 1000), to: path)
    #expect(throws: ImageIOError.unreadable(path: path, reason: "file is 1000 bytes, more than the limit of 999")) {
      try readFileBytes(path, maxBytes: 999)
    }
    #expect(try readFileBytes(path, maxBytes: 1000).count == 1000)
  }

  @Test("descriptions are single readable lines")
  func descriptions() {
    #expect(ImageIOError.empty(path: "a.png").description == "a.png: file is empty")
    #expect(ImageIOError.tooManyPixels(path: "b.png", width: 3, height: 4, maxPixels: 5).description
      == "b.png: image is 3x4 pixels, more than the limit of 5 pixels")
    #expect(ImageIOError.unsupportedFormat(path: "c.jpg", reason: "CMYK JPEG is not supported").description
      == "c.jpg: unsupported image format: CMYK JPEG is not supported")
  }
}

@Suite struct AvailableMemoryTests {
  @Test func anImageThatCannotFitIsAnErrorNotAnAbort() throws {
    let error = try #require(throws: ImageIOError.self) {
      try AvailableMemory.check(width: 100_000, height: 100_000, bytesPerPixel: 11, name: "huge.png", available: 1 << 30)
    }
    #expect(error.description.contains("huge.png") && error.description.contains("100000x100000") && error.description.contains("1024 MiB available"))
    try AvailableMemory.check(width: 1000, height: 1000, bytesPerPixel: 11, name: "small.png", available: 1 << 30)
    #expect(throws: ImageIOError.self) { try AvailableMemory.check(width: Int.max, height: 3, bytesPerPixel: 1, name: "x", available: 1 << 40) }
  }

  @Test func thisMachineReportsSomeMemory() throws {
    #if os(Linux)
    let bytes = try #require(AvailableMemory.bytes())
    #expect(bytes > 1 << 20)
    #endif
  }
}
