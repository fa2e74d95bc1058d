import Foundation
import Testing
@testable import MISCCoding

/// A smooth, textured test picture so the thumbnail codec sees photo-like content.
func syntheticRGB(width: Int, height: Int, seed: UInt64 = 1) -> [UInt8] {
  var rng = SplitMix64(seed: seed)
  var out = [UInt8](repeating: 0, count: width * height * 3)
  for y in 0..<height {
    for x in 0..<width {
      for c in 0..<3 {
        let base = 128 + 60 * ((x * (c + 1) + y * 2) % 17 - 8) / 8 + (x * 3 - y * 2 + c * 40) % 50
        let noise = Int(rng.next() % 9) - 4
        out[(y * width + x) * 3 + c] = UInt8(min(255, max(0, base + noise)))
      }
    }
  }
  return out
}

func randomMap(_ width: Int, _ height: Int, density: Double, rng: inout SplitMix64) -> BinaryMap {
  BinaryMap(width: width, height: height, cells: (0..<width * height).map { _ in Double.random(in: 0..<1, using: &rng) < density })
}

/// A 768x512 file with every layer present, as in the paper's MISC-1.
func fullContents(quality: Int = 3) -> Container.Contents {
  var rng = SplitMix64(seed: 42)
  let size = Container.thumbnailSize(imageWidth: 768, imageHeight: 512, longSide: 40)
  let items = [
    Container.Item(name: "red bicycle", detail: "old red bicycle leaning on a wooden fence", map: randomMap(8, 8, density: 0.3, rng: &rng)),
    Container.Item(name: "wooden fence", detail: "weathered grey planks with peeling paint", map: BinaryMap(width: 8, height: 8)),
    Container.Item(name: "ivy", detail: "dark green ivy climbing the left post", map: randomMap(8, 8, density: 0.2, rng: &rng)),
  ]
  return Container.Contents(
    width: 768, height: 512, level: 1,
    overview: "An old red bicycle leans against a weathered wooden fence in a quiet garden, ivy climbing the posts, soft afternoon light falling across the grass and the gravel path.",
    items: items,
    thumbnail: .init(width: size.width, height: size.height, rgb: syntheticRGB(width: size.width, height: size.height)))
}

@Suite struct ContainerTests {
  @Test func roundTripKeepsEveryField() throws {
    let contents = fullContents()
    let encoded = try Container.encode(contents, thumbnailQuality: 3)
    let decoded = try Container.decode(encoded.bytes)
    #expect(decoded.version == Container.version)
    #expect(decoded.contents.width == 768 && decoded.contents.height == 512 && decoded.contents.level == 1)
    #expect(decoded.contents.overview == contents.overview)
    #expect(decoded.contents.items == contents.items)
    #expect(decoded.contents.thumbnail?.width == contents.thumbnail?.width)
    #expect(decoded.seed == Container.seed(of: encoded.bytes))
    // The decoder's accounting matches the encoder's.
    #expect(abs(decoded.layers.overview - encoded.layers.overview) < 1e-6)
    #expect(abs(decoded.layers.maps - encoded.layers.maps) < 1e-6)
    #expect(abs(decoded.layers.thumbnail - encoded.layers.thumbnail) < 1e-6)
    #expect(abs(encoded.layers.total - Double(encoded.bytes.count * 8)) < 1e-6)
  }

  @Test func framingIsAtMostEightBytes() throws {
    for quality in [0, ThumbnailCodec.qualityLevels / 2, ThumbnailCodec.qualityLevels - 1] {
      let encoded = try Container.encode(fullContents(), thumbnailQuality: quality)
      #expect(encoded.layers.framing <= 64, "framing \(encoded.layers.framing) bits at quality \(quality)")
    }
  }

  @Test func fileWithoutLayersIsOnlyFraming() throws {
    let encoded = try Container.encode(.init(width: 768, height: 512, level: 0), thumbnailQuality: 0)
    #expect(encoded.bytes.count <= 8)
    let decoded = try Container.decode(encoded.bytes)
    #expect(decoded.contents.thumbnail == nil && decoded.contents.items.isEmpty && decoded.contents.overview.isEmpty)
  }

  @Test func everyDimensionRoundTrips() throws {
    for side in Array(1...2048) + [4095, 4096, 4097, 30000, 65534, 65535] {
      var encoder = RangeEncoder()
      DimensionCode.encode(side, to: &encoder)
      let bytes = encoder.finish()
      var decoder = RangeDecoder(bytes)
      #expect(try DimensionCode.decode(from: &decoder, field: "width") == side)
    }
  }

  @Test func commonSidesAreCheap() {
    for (side, bits) in [(768, 8.0), (512, 8.0), (1024, 8.0), (1920, 10.0)] {
      var encoder = RangeEncoder()
      DimensionCode.encode(side, to: &encoder)
      #expect(encoder.bitCount <= bits + 0.01, "\(side) took \(encoder.bitCount) bits")
    }
  }

  @Test func thumbnailSizeKeepsAspect() {
    #expect(Container.thumbnailSize(imageWidth: 768, imageHeight: 512, longSide: 48) == (48, 32))
    #expect(Container.thumbnailSize(imageWidth: 512, imageHeight: 768, longSide: 48) == (32, 48))
    #expect(Container.thumbnailSize(imageWidth: 5000, imageHeight: 10, longSide: 8) == (8, 1))
  }

  @Test func rejectsInvalidContents() {
    var tooMany = fullContents()
    tooMany.items.append(tooMany.items[0])
    #expect(throws: CodingError.self) { try Container.encode(tooMany, thumbnailQuality: 0) }
    var badGrid = fullContents()
    badGrid.items[0].map = BinaryMap(width: 4, height: 4)
    #expect(throws: CodingError.self) { try Container.encode(badGrid, thumbnailQuality: 0) }
    var badThumb = fullContents()
    badThumb.thumbnail = .init(width: 10, height: 10, rgb: [UInt8](repeating: 0, count: 300))
    #expect(throws: CodingError.self) { try Container.encode(badThumb, thumbnailQuality: 0) }
  }
}

@Suite struct HostileContainerTests {
  let file = try! Container.encode(fullContents(), thumbnailQuality: 3).bytes

  @Test func everyTruncationIsAnError() {
    for length in 0..<file.count {
      #expect(throws: ContainerError.self, "length \(length)") { try Container.decode(Array(file.prefix(length))) }
    }
  }

  @Test func appendedBytesAreAnError() {
    for extra in [[UInt8(0)], [1], [0, 0, 0, 0], [0xFF]] {
      #expect(throws: ContainerError.self) { try Container.decode(file + extra) }
    }
  }

  @Test func randomBitFlipsAreErrors() {
    var rng = SplitMix64(seed: 2024)
    for trial in 0..<2000 {
      var bytes = file
      let flips = 1 + trial % 3
      var positions = Set<Int>()
      while positions.count < flips { positions.insert(Int(rng.next() % UInt64(bytes.count * 8))) }
      for bit in positions { bytes[bit / 8] ^= UInt8(1 << (bit % 8)) }
      #expect(throws: ContainerError.self, "trial \(trial)") { try Container.decode(bytes) }
    }
  }

  /// `make demo`'s astronaut as the version-2 build wrote it (before the thumbnail coder's
  /// gradient contexts). When version 3 came, both builds decoded it to the same PNG, byte for
  /// byte; the thumbnail's hash below is that decode's.
  static let astronautVersion2 = [
    "stoImZl+OlohzOMSlhYgnfeidqUdQpw2FFBWzZiLu7LNUin1QWPayqLQ9gE6wuv7+JQRSln7A44czI8SqJLi5K7kwODp0Vh/",
    "uj0atiFiPbdh84SX0Y6MjaYn3MG6Iug5BTiKUftrIfqdI7oCSG8iY/y5XAZ/CPnG6IRWgDF4W6R1aDBg5H0ZU883xpUdQX1j",
    "E44x2KRvelR6h9wRts1R8+HqkJJvpanPLp0LdMXsdXZzHfy/6ltBnUTqBn/oFIhF6bPUcwuts7XBaa7pYMu+oIIfvfltMP6e",
    "rxK8LXwkXot8EUK3pGCxBMPDGpm7MBQVO+Hy/P4lFxkQs+oOp+XtFkoFdGZM4JTMq4AiIW0lUv8PiKcF82w3pS2CbVLIgrDl",
    "NnD/c1Hf88l4Xfd48fILVkot+m2dXWrtpDv0pJ9kLhLVxzVpnH9xyUqg+Yn7lzpeSSVymJty8sDBzjGjwVyLG1tTe6tytTgI",
    "oC3gSoUKlvPXg/GzKwavH+5mf8RFDjMohLyBiMHq3YwSX+wM476PZ6ooa5P2d1Yhgb13hO2PlDjCmtzCOD+hKApCAIgFpn55",
    "LQft0DyQlMxzXb9LLhqF+Wy0a3AC+H1Ik8hiMl5hq0waAr5AaDBjSPtcLnsj2SOxRP5FNTFPmByhqjlKvXQ7XMbBkKISzqhQ",
    "CGsxMidkv7hOTUEcu1WNnvVXHdwWFCf5beDYky6E66anxWvBfxzMPFfvtc4L9CTVqjAti/GBnTlhTIbObwtV/PlzjQwhMd9O",
    "ExAxF6Qvuw5uCx8zKEgloP7eHPoO37R7pD4nDMo20CT6UWEuo8ErdKdmnqxZS6TiLiIPwDeS9mDGmTNimlenAAsUgytcJguL",
    "H55FWxx/JuVCVHhH+JP0Pk0ckM73pdWgvR9IoM4NrnAW6hWePVvt2FkVR4tW0XRigLXDraOQT8sYO0RjAxMfK/UDR0P8mRWv",
    "YS+7j7wsZLE=",
  ].joined()

  @Test func versionTwoFilesStillDecode() throws {
    let bytes = try #require(Data(base64Encoded: Self.astronautVersion2)).map { $0 }
    let decoded = try Container.decode(bytes)
    #expect(decoded.version == 2)
    #expect(decoded.contents.overview.hasPrefix("A formal NASA portrait of a smiling female astronaut"))
    #expect(decoded.contents.items.map(\.name) == ["astronaut", "space helmet", "shuttle model"])
    let thumbnail = try #require(decoded.contents.thumbnail)
    #expect(thumbnail.width == 160 && thumbnail.height == 160)
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
    for byte in thumbnail.rgb { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
    #expect(hash == 0x584D_7406_00FA_C74D, "thumbnail hash \(String(hash, radix: 16))")
  }

  @Test func wrongMagicAndVersion() {
    var bytes = file
    bytes[0] = 0x89  // a PNG signature's first byte
    #expect(throws: ContainerError.notMISC(firstByte: 0x89)) { try Container.decode(bytes) }
    bytes[0] = 0xB1  // the pre-release development layout
    #expect(throws: ContainerError.unsupportedVersion(1)) { try Container.decode(bytes) }
    bytes[0] = 0xB5
    #expect(throws: ContainerError.unsupportedVersion(5)) { try Container.decode(bytes) }
    bytes[0] = 0xB0
    #expect(throws: ContainerError.unsupportedVersion(0)) { try Container.decode(bytes) }
    #expect(throws: ContainerError.empty) { try Container.decode([]) }
  }

  /// A well-formed file that claims a 65535x65535 image is refused before any allocation.
  @Test func absurdDimensions() throws {
    let huge = try Container.encode(.init(width: 65535, height: 65535, level: 0), thumbnailQuality: 0).bytes
    #expect(throws: ContainerError.imageTooLarge(width: 65535, height: 65535, limit: Container.defaultMaxPixels)) {
      try Container.decode(huge)
    }
    // Raising the pixel limit alone does not admit 4 gigapixels in 11 bytes: that is a bomb.
    #expect(throws: ContainerError.rateTooLow(width: 65535, height: 65535, bytes: huge.count, minBitsPerPixel: Container.defaultMinBitsPerPixel)) {
      try Container.decode(huge, maxPixels: 65535 * 65535)
    }
    #expect(try Container.decode(huge, maxPixels: 65535 * 65535, minBitsPerPixel: 0).contents.width == 65535)
  }

  /// The bomb bound spares small images and files at real rates.
  @Test func rateBoundSparesSmallImagesAndRealRates() throws {
    let small = try Container.encode(.init(width: 2000, height: 2000, level: 0), thumbnailQuality: 0).bytes
    #expect(try Container.decode(small).contents.width == 2000, "4 MP pass whatever their size")
    let bare = try Container.encode(.init(width: 3000, height: 2000, level: 0), thumbnailQuality: 0).bytes
    #expect(throws: ContainerError.rateTooLow(width: 3000, height: 2000, bytes: bare.count, minBitsPerPixel: 0.0001)) { try Container.decode(bare) }
    // The same image with a 64-pixel thumbnail of noise: a real file, above 75 bytes.
    let size = Container.thumbnailSize(imageWidth: 3000, imageHeight: 2000, longSide: 64)
    var rng = SplitMix64(seed: 7)
    let rgb = (0..<(size.width * size.height * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let real = try Container.encode(.init(width: 3000, height: 2000, level: 0, overview: "a noisy field",
                                          thumbnail: .init(width: size.width, height: size.height, rgb: rgb)), thumbnailQuality: 30).bytes
    try #require(real.count * 8 >= 600, "\(real.count) bytes")
    #expect(try Container.decode(real).contents.width == 3000)
  }

  /// A version-4 thumbnail may be as large as its image, so the bomb bound covers it too: a file
  /// of a few bytes that declares a 6-MP thumbnail is refused before the thumbnail is decoded.
  @Test func thumbnailBombIsRefused() throws {
    let profile = FormatProfile.version4
    func file(thumbnailLongSide: Int, padding: Int) -> [UInt8] {
      var encoder = RangeEncoder()
      DimensionCode.encode(3000, to: &encoder)
      DimensionCode.encode(2000, to: &encoder)
      encoder.encodeBits(0, count: 2)
      encoder.encodeBits(0, count: 2)
      encoder.encode(bit: true, p1: profile.flags.noOverviewP1)
      encoder.encode(bit: true, p1: profile.flags.thumbnailPresentP1)
      encoder.encodeBits(UInt32(thumbnailLongSide - 1), count: profile.thumbnail.longSideBits(imageLongSide: 3000))
      for _ in 0..<padding { encoder.encodeBits(0x5A, count: 8) }
      var bytes = [Container.magic | UInt8(profile.version), 0, 0] + encoder.finish()
      let crc = Container.checksum(bytes)
      bytes[1] = UInt8(crc >> 8)
      bytes[2] = UInt8(crc & 0xFF)
      return bytes
    }
    /// Whether decoding stops at the bound (any other outcome: decoded, or refused for another reason).
    func refusedAsBomb(_ bytes: [UInt8], minBitsPerPixel: Double = Container.defaultMinBitsPerPixel) -> Bool {
      do { _ = try Container.decode(bytes, minBitsPerPixel: minBitsPerPixel) } catch { return "\(error)".contains("decompression bomb") }
      return false
    }
    // 100 bytes pass the image's bound (75 bytes for 6 MP) but not the thumbnail's.
    #expect(refusedAsBomb(file(thumbnailLongSide: 3000, padding: 100)))
    // 6 MP of thumbnail need 7.5 KB; the check can be turned off; at 2000x1333 (2.7 MP) it does not apply.
    #expect(!refusedAsBomb(file(thumbnailLongSide: 3000, padding: 7600)))
    #expect(!refusedAsBomb(file(thumbnailLongSide: 3000, padding: 4), minBitsPerPixel: 0))
    #expect(!refusedAsBomb(file(thumbnailLongSide: 2000, padding: 100)))
  }

  /// Garbage behind a valid header and check value must still fail cleanly or decode: never trap.
  @Test func garbageBodiesWithValidChecksums() {
    var rng = SplitMix64(seed: 99)
    for _ in 0..<500 {
      var bytes: [UInt8] = [Container.magic | UInt8(Container.version), 0, 0] + (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      let crc = Container.checksum(bytes)
      bytes[1] = UInt8(crc >> 8)
      bytes[2] = UInt8(crc & 0xFF)
      _ = try? Container.decode(bytes, maxPixels: 1 << 20)
    }
  }
}

@Suite struct MapCoderTests {
  @Test func uniformMapsCostAtMostTwoBits() {
    for side in [8, 12, 16] {
      for fill in [false, true] {
        var encoder = RangeEncoder()
        var coder = MapCoder()
        coder.encode(BinaryMap(width: side, height: side, fill: fill), to: &encoder)
        #expect(encoder.bitCount <= 2.0, "\(side)x\(side) \(fill ? "full" : "empty") took \(encoder.bitCount) bits")
      }
    }
  }

  @Test func randomMapsRoundTrip() throws {
    var rng = SplitMix64(seed: 8)
    for _ in 0..<300 {
      let w = Int.random(in: 8...16, using: &rng), h = Int.random(in: 8...16, using: &rng)
      let maps = (0..<3).map { _ in randomMap(w, h, density: Double.random(in: 0...1, using: &rng), rng: &rng) }
      var encoder = RangeEncoder()
      var coder = MapCoder()
      for map in maps { coder.encode(map, to: &encoder) }
      let bytes = encoder.finish()
      var decoder = RangeDecoder(bytes)
      var decoderModel = MapCoder()
      for map in maps { #expect(try decoderModel.decode(width: w, height: h, from: &decoder) == map) }
    }
  }

  @Test func compactShapesAreCheaperThanRaw() {
    var map = BinaryMap(width: 8, height: 8)
    for y in 2..<6 { for x in 1..<5 { map[x, y] = true } }
    var encoder = RangeEncoder()
    var coder = MapCoder()
    coder.encode(map, to: &encoder)
    #expect(encoder.bitCount < 40, "a 4x4 block took \(encoder.bitCount) bits of 64 raw")
  }
}
