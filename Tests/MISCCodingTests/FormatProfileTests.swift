import Testing
@testable import MISCCoding

@Suite struct FormatProfileTests {
  /// Every profile builds: its prior tables match its models and its text model is the shipped one.
  @Test func everyProfileIsConsistent() throws {
    #expect(FormatProfile.all.map(\.version) == [2, 3, 4])
    #expect(FormatProfile.current.version == Container.version)
    #expect(Container.readableVersions == 2...4)
    for profile in FormatProfile.all {
      try profile.validate()
      #expect(try FormatProfile.forVersion(profile.version).version == profile.version)
      #expect(try TextCoder(profile: profile).modelIdentifier == profile.text.modelIdentifier)
    }
    #expect(throws: ContainerError.unsupportedVersion(5)) { try FormatProfile.forVersion(5) }
  }

  /// A profile whose tables do not match its models cannot be built.
  @Test func mismatchedTablesAreRefused() throws {
    let v3 = FormatProfile.version3
    func rebuilt(_ thumbnail: FormatProfile.Thumbnail, text: FormatProfile.Text? = nil) throws -> FormatProfile {
      try FormatProfile(version: 3, thumbnail: thumbnail, flags: v3.flags, maps: v3.maps, text: text ?? v3.text, passSeeds: .splitMix64)
    }
    let t = v3.thumbnail
    func thumbnail(models: [CoefficientCoder.ModelGroup]? = nil, zero: [Int32]? = nil, priors: [UInt16]? = nil) -> FormatProfile.Thumbnail {
      FormatProfile.Thumbnail(
        maxSide: t.maxSide, longSideBits: t.longSideBits, atMostImageSide: t.atMostImageSide, longSideBitsFollowImage: t.longSideBitsFollowImage, lumaSteps: t.lumaSteps, coStepScale: t.coStepScale,
        cgStepScale: t.cgStepScale, reconstructionBias: t.reconstructionBias, deadZoneRounding: t.deadZoneRounding,
        lowStepScale: t.lowStepScale, lowStepLimit: t.lowStepLimit, levelOffset: t.levelOffset, models: models ?? t.models,
        zeroMixerWeights: zero ?? t.zeroMixerWeights, greaterOneMixerWeights: t.greaterOneMixerWeights,
        priors: priors ?? t.priors, priorBuckets: t.priorBuckets, priorConfidence: t.priorConfidence)
    }
    _ = try rebuilt(thumbnail())
    // Version 3's models with version 2's table, and the reverse.
    #expect(throws: CodingError.self) { try rebuilt(thumbnail(priors: ThumbnailPriorsVersion2.table)) }
    #expect(throws: CodingError.self) { try rebuilt(thumbnail(models: CoefficientCoder.ModelGroup.version2)) }
    #expect(throws: CodingError.self) { try rebuilt(thumbnail(priors: Array(t.priors.dropLast()))) }
    #expect(throws: CodingError.self) { try rebuilt(thumbnail(zero: [1, 2, 3])) }
    // A profile naming another text model cannot code text.
    let other = try rebuilt(thumbnail(), text: FormatProfile.Text(modelIdentifier: 1, rawEscape: false, rawP1: 0))
    #expect(throws: CodingError.self) { try TextCoder(profile: other) }
  }

  /// From version 4 a thumbnail may not be larger than its image: the encoder refuses one, and
  /// the decoder refuses a file that declares one (version 3 allowed it, up to 256).
  @Test func version4ThumbnailIsAtMostTheImage() throws {
    let thumbnail = Container.Thumbnail(width: 64, height: 64, rgb: [UInt8](repeating: 90, count: 64 * 64 * 3))
    let contents = Container.Contents(width: 32, height: 32, level: 0, thumbnail: thumbnail)
    #expect(throws: CodingError.self) { try Container.encode(contents, thumbnailQuality: 10, profile: .version4) }
    let v3 = try Container.encode(contents, thumbnailQuality: 10, profile: .version3)
    #expect(try Container.decode(v3.bytes).contents.thumbnail?.width == 64)
    // The same stream with version 4's field 9 (10 bits), by hand.
    var encoder = RangeEncoder()
    DimensionCode.encode(32, to: &encoder)
    DimensionCode.encode(32, to: &encoder)
    encoder.encodeBits(0, count: 2)
    encoder.encodeBits(0, count: 2)
    encoder.encode(bit: true, p1: FormatProfile.version4.flags.noOverviewP1)
    encoder.encode(bit: true, p1: FormatProfile.version4.flags.thumbnailPresentP1)
    encoder.encodeBits(63, count: 10)
    ThumbnailCodec.encode(rgb: thumbnail.rgb, width: 64, height: 64, quality: 10, to: &encoder, profile: .version4)
    var bytes = [Container.magic | 4, 0, 0] + encoder.finish()
    let crc = Container.checksum(bytes)
    bytes[1] = UInt8(crc >> 8)
    bytes[2] = UInt8(crc & 0xFF)
    do {
      _ = try Container.decode(bytes)
      Issue.record("a 64-pixel thumbnail of a 32-pixel image decoded")
    } catch {
      #expect("\(error)".contains("above the image's 32"), "\(error)")
    }
    bytes = try Container.encode(Container.Contents(width: 64, height: 64, level: 0, thumbnail: thumbnail), thumbnailQuality: 10).bytes
    #expect(try Container.decode(bytes).contents.thumbnail?.width == 64)
  }

  /// Version 4's field 9 takes the bits of the image's long side less one, never fewer than 10:
  /// files of images up to 1024 a side keep the 10-bit field, and a thumbnail may be as large as
  /// its image. Versions 2 and 3 keep 8 bits and the 256 cap.
  @Test func version4LongSideFieldFollowsTheImage() throws {
    let t = FormatProfile.version4.thumbnail
    for (side, bits) in [(1, 10), (2, 10), (768, 10), (1024, 10), (1025, 11), (2048, 11), (2049, 12), (4000, 12), (6000, 13), (65535, 16)] {
      #expect(t.longSideBits(imageLongSide: side) == bits, "image long side \(side)")
    }
    #expect(t.maxSide == Container.maxSide && t.atMostImageSide)
    for profile in [FormatProfile.version2, .version3] {
      #expect(profile.thumbnail.longSideBits(imageLongSide: 65535) == 8)
      #expect(profile.thumbnail.maxSide == 256)
    }
    // A thumbnail of the image's own size above 1024 round-trips, its field 11 bits wide.
    let (w, h) = (1500, 1000)
    let rgb = (0..<(w * h * 3)).map { UInt8(truncatingIfNeeded: ($0 / 3 % w) / 6 + $0 % 3 * 40) }
    let contents = Container.Contents(width: w, height: h, level: 0, thumbnail: Container.Thumbnail(width: w, height: h, rgb: rgb))
    let file = try Container.encode(contents, thumbnailQuality: 20, profile: .version4)
    let decoded = try Container.decode(file.bytes).contents.thumbnail
    #expect(decoded?.width == w && decoded?.height == h)
    // A field that follows the image needs thumbnails bounded by the image.
    let v4 = FormatProfile.version4
    #expect(throws: CodingError.self) {
      try FormatProfile(
        version: 4,
        thumbnail: .init(maxSide: t.maxSide, longSideBits: t.longSideBits, atMostImageSide: false, longSideBitsFollowImage: true,
                         lumaSteps: t.lumaSteps, coStepScale: t.coStepScale, cgStepScale: t.cgStepScale,
                         reconstructionBias: t.reconstructionBias, deadZoneRounding: t.deadZoneRounding,
                         lowStepScale: t.lowStepScale, lowStepLimit: t.lowStepLimit, levelOffset: t.levelOffset, models: t.models,
                         zeroMixerWeights: t.zeroMixerWeights, greaterOneMixerWeights: t.greaterOneMixerWeights,
                         priors: t.priors, priorBuckets: t.priorBuckets, priorConfidence: t.priorConfidence),
        flags: v4.flags, maps: v4.maps, text: v4.text, passSeeds: v4.passSeeds)
    }
  }

  /// The seed functions, pinned against published reference values.
  @Test func seedFunctionsMatchReferenceValues() {
    // FNV-1a 32-bit test vectors (Fowler, Noll, Vo: "FNV test vectors").
    #expect(Container.seed(of: []) == 0x811C_9DC5)
    #expect(Container.seed(of: Array("a".utf8)) == 0xE40C_292C)
    #expect(Container.seed(of: Array("foobar".utf8)) == 0xBF9C_F968)
    // SplitMix64 (Vigna): the first output from seed 0 is 0xE220A8397B1DCDAF, and from seed
    // 1234567 it is 6457827717110365317 (0x599ED017FB08FC85). A pass seed is the low half of
    // the first output from the state fileSeed << 8 | index; 1234567 = 0x12D6 << 8 | 0x87.
    #expect(FormatProfile.passSeed(fileSeed: 0, index: 0) == 0x7B1D_CDAF)
    #expect(FormatProfile.passSeed(fileSeed: 0x12D6, index: 0x87) == 0xFB08_FC85)
    for profile in FormatProfile.all {
      #expect(profile.passSeed(fileSeed: 0x12D6, index: 0x87) == 0xFB08_FC85)
    }
  }

  /// Version 4's text: no string costs more than its raw bytes (with their Elias-gamma count)
  /// plus a few bits, English keeps the trained model's cost (plus a fraction of a bit), and
  /// every string round-trips.
  @Test func textNeverCostsMuchMoreThanRaw() throws {
    let strings = [
      "A red bicycle leaning against a stone wall beside a wooden door.",
      "🚲🧱🚪☀️🌳🐦🌸🏠🚗🙂",
      "Une bicyclette rouge appuyée contre un mur de pierre.",
      "Красный велосипед прислонён к каменной стене.",
      "一辆红色自行车靠在木门旁的石墙上。",
      "", "x", String(repeating: "é", count: 300),
    ]
    var v3 = try TextCoder(profile: .version3)
    var v4 = try TextCoder(profile: .version4)
    var e3 = RangeEncoder(), e4 = RangeEncoder()
    for s in strings {
      let before3 = e3.bitCount, before4 = e4.bitCount
      v3.encode(s, to: &e3)
      v4.encode(s, to: &e4)
      let cost3 = e3.bitCount - before3, cost4 = e4.bitCount - before4
      let raw = Double(TextCoder.rawBits(byteCount: s.utf8.count))
      // The flag: 4 bits at its start, a little more once the model strings have taught it.
      #expect(cost4 <= raw + 6, "\(s): \(cost4) bits, raw \(raw)")
      if s == strings[0] { #expect(cost4 <= cost3 + 0.2, "English: \(cost4) bits in v4, \(cost3) in v3") }
    }
    let bytes = e4.finish()
    var decoder = RangeDecoder(bytes)
    var reader = try TextCoder(profile: .version4)
    for s in strings { #expect(try reader.decode(from: &decoder) == s) }
  }
}
