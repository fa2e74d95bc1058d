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
        maxSide: t.maxSide, longSideBits: t.longSideBits, lumaSteps: t.lumaSteps, coStepScale: t.coStepScale,
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
