/// One format version of the `.misc` bitstream: every constant that shapes what the version
/// writes and reads (docs/FORMAT.md, "Format profiles"). The byte at the start of a file picks
/// the profile (`FormatProfile.forVersion`); the container hands it to each coder.
///
/// Versions 2 and 3 are frozen: their files must decode as the builds that wrote them did, which
/// `Tests/Conformance/v2` and `v3` check. A new bitstream constant means a new profile.
///
/// A profile is validated when it is built (`init` throws): its prior tables must match the
/// context models it names, and its text model must be the one this build ships. The static
/// profiles are built on first use; a mismatch stops the program there, and `FormatProfileTests`
/// builds every one.
public struct FormatProfile: Sendable {
  /// The version byte's low three bits.
  public let version: Int
  public let thumbnail: Thumbnail
  public let flags: Flags
  public let maps: Maps
  public let text: Text
  public let passSeeds: PassSeedScheme

  /// The thumbnail codec's constants.
  public struct Thumbnail: Sendable {
    /// The largest thumbnail side, and the bits that code `longSide - 1` (field 9; the fewest,
    /// when `longSideBitsFollowImage`).
    public let maxSide: Int
    let longSideBits: Int
    /// Whether the thumbnail's long side may not exceed the image's (from version 4: a small
    /// file cannot make the decoder build a thumbnail larger than the image it describes).
    let atMostImageSide: Bool
    /// Whether field 9 widens with the image (from version 4): it takes the bits of the image's
    /// long side less one, at least `longSideBits`, so any thumbnail up to the image's own size
    /// can be coded, and images up to 1024 a side keep the 10-bit field.
    let longSideBitsFollowImage: Bool
    /// Luma quantiser step per quality index, in 1/16 of a pixel level.
    let lumaSteps: [Int]
    /// Chroma steps relative to luma, in 1/16.
    let coStepScale: Int
    let cgStepScale: Int
    /// Detail coefficients are reconstructed this far (in 1/16 of a step) below `level · step`.
    let reconstructionBias: Int
    /// The dead-zone quantiser's rounding offset, in 1/16 of a step.
    let deadZoneRounding: Int
    /// The low band's step relative to the detail step, in 1/16, and its coarsest step.
    let lowStepScale: Int
    let lowStepLimit: Int
    /// Wavelet levels relative to `SubbandLayout.defaultLevels`.
    let levelOffset: Int
    /// The context models, in the order of the prior tables.
    let models: [CoefficientCoder.ModelGroup]
    /// The mixers' starting weights (16.16), one per input.
    let zeroMixerWeights: [Int32]
    let greaterOneMixerWeights: [Int32]
    /// Trained starting probabilities: `priorBuckets` quality buckets × the models' count.
    let priors: [UInt16]
    let priorBuckets: Int
    /// How many observations the priors count for.
    let priorConfidence: UInt8

    /// The bits of field 9 in a file of an image whose long side is `imageLongSide`.
    func longSideBits(imageLongSide: Int) -> Int {
      guard longSideBitsFollowImage else { return longSideBits }
      return max(longSideBits, Int.bitWidth - (max(imageLongSide, 1) - 1).leadingZeroBitCount)
    }

    /// Whether the gradient models feed the mixers (from version 3).
    var gradientContexts: Bool { models.contains(.zeroGradient) }
    /// How many adaptive bits the models hold.
    var modelCount: Int { models.reduce(0) { $0 + $1.count } }
  }

  /// The fixed probabilities (of a 1, out of 65536) of the container's structural flags.
  public struct Flags: Sendable {
    let mapPresentP1: UInt32
    let sameGridP1: UInt32
    let grid8P1: UInt32
    let thumbnailPresentP1: UInt32
    let noOverviewP1: UInt32
  }

  /// The map coder's constants.
  public struct Maps: Sendable {
    /// The probability that a map is uniform.
    let uniformP1: UInt32
    /// The starting probability of a set cell by how many of its 4 causal neighbours are set.
    let neighbourP1: [UInt32]
    let adaptationLimit: Int
  }

  /// The text coder's constants.
  public struct Text: Sendable {
    /// The static model's identifier (FNV-1a-64 of its payload): a file is coded against
    /// exactly this model.
    public let modelIdentifier: UInt64
    /// From version 4, each string starts with an adaptive flag: trained model, or raw UTF-8
    /// (an Elias-gamma byte count and the bytes), whichever is shorter.
    let rawEscape: Bool
    /// The raw flag's starting probability.
    let rawP1: UInt32
  }

  /// How the decoding passes' seeds follow from the file's seed.
  public enum PassSeedScheme: Sendable {
    /// SplitMix64's first output for the state `fileSeed << 8 | index`, low 32 bits.
    case splitMix64
  }

  public init(version: Int, thumbnail: Thumbnail, flags: Flags, maps: Maps, text: Text, passSeeds: PassSeedScheme) throws {
    self.version = version
    self.thumbnail = thumbnail
    self.flags = flags
    self.maps = maps
    self.text = text
    self.passSeeds = passSeeds
    try validate()
  }

  /// Throws if the profile's tables do not fit its models.
  func validate() throws {
    func fail(_ reason: String) -> CodingError { CodingError("format profile v\(version)", reason) }
    let t = thumbnail
    guard (0...7).contains(version) else { throw fail("version outside 0...7") }
    guard t.priorBuckets > 0, t.priors.count == t.priorBuckets * t.modelCount else {
      throw fail("thumbnail priors hold \(t.priors.count) values, expected \(t.priorBuckets) buckets × \(t.modelCount) models")
    }
    guard Set(t.models).count == t.models.count, t.models == CoefficientCoder.ModelGroup.allCases.prefix(t.models.count).map({ $0 }) else {
      throw fail("the thumbnail models must be a prefix of CoefficientCoder.ModelGroup, in order")
    }
    let inputs = t.gradientContexts ? (4, 3) : (3, 2)
    guard t.zeroMixerWeights.count == inputs.0, t.greaterOneMixerWeights.count == inputs.1 else {
      throw fail("mixer weights \(t.zeroMixerWeights.count)/\(t.greaterOneMixerWeights.count), expected \(inputs.0)/\(inputs.1)")
    }
    guard t.lumaSteps.count == ThumbnailCodec.qualityLevels, t.lumaSteps.allSatisfy({ $0 > 0 }) else {
      throw fail("\(t.lumaSteps.count) luma steps, expected \(ThumbnailCodec.qualityLevels)")
    }
    if t.longSideBitsFollowImage {
      guard t.atMostImageSide, t.maxSide == Container.maxSide, (1...16).contains(t.longSideBits) else {
        throw fail("a long-side field that follows the image needs thumbnails bounded by the image, up to \(Container.maxSide), and 1...16 bits")
      }
    } else {
      guard t.maxSide >= 1, t.maxSide <= 1 << t.longSideBits else { throw fail("max side \(t.maxSide) needs more than \(t.longSideBits) bits") }
    }
    guard maps.neighbourP1.count == 5 else { throw fail("map priors: \(maps.neighbourP1.count), expected 5") }
  }

  /// The profile of format `version`, or `ContainerError.unsupportedVersion`.
  public static func forVersion(_ version: Int) throws -> FormatProfile {
    guard let profile = all.first(where: { $0.version == version }) else { throw ContainerError.unsupportedVersion(version) }
    return profile
  }

  /// The profile this build writes.
  public static var current: FormatProfile { version4 }
  /// Every profile this build reads, oldest first.
  public static var all: [FormatProfile] { [version2, version3, version4] }

  /// The seed of decoding pass `index` (items 0...2, then the final pass as 3).
  public func passSeed(fileSeed: UInt32, index: Int) -> UInt32 {
    switch passSeeds {
    case .splitMix64: return Self.passSeed(fileSeed: fileSeed, index: index)
    }
  }

  /// SplitMix64's first output from the state `fileSeed << 8 | index`, low 32 bits (the scheme
  /// of versions 2 to 4).
  public static func passSeed(fileSeed: UInt32, index: Int) -> UInt32 {
    var z = (UInt64(fileSeed) << 8 | UInt64(index)) &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return UInt32(truncatingIfNeeded: z)
  }

  // MARK: The versions

  /// The text model of versions 2 to 4 (`Resources/text-model.bin`).
  static let textModelVersion2 = Text(modelIdentifier: 0x191B_9E44_492A_2BEC, rawEscape: false, rawP1: 0)

  static let flagsVersion2 = Flags(mapPresentP1: 49152, sameGridP1: 58982, grid8P1: 45875, thumbnailPresentP1: 65000, noOverviewP1: 6554)
  static let mapsVersion2 = Maps(uniformP1: 39322, neighbourP1: [6000, 22000, 43000, 56000, 62000], adaptationLimit: 4)

  /// 160 · 2^(−q/11) in 1/16 of a level.
  static let lumaStepsVersion2: [Int] = [
    2560, 2404, 2257, 2119, 1990, 1868, 1754, 1647, 1546, 1452, 1363, 1280, 1202, 1128, 1060, 995,
    934, 877, 823, 773, 726, 682, 640, 601, 564, 530, 497, 467, 439, 412, 387, 363,
    341, 320, 300, 282, 265, 249, 234, 219, 206, 193, 181, 170, 160, 150, 141, 132,
    124, 117, 110, 103, 97, 91, 85, 80, 75, 71, 66, 62, 58, 55, 51, 48,
  ]

  static func thumbnailVersion2Quantiser(maxSide: Int, longSideBits: Int, atMostImageSide: Bool = false,
                                         longSideBitsFollowImage: Bool = false, models: [CoefficientCoder.ModelGroup],
                                         zero: [Int32], greaterOne: [Int32], priors: [UInt16], buckets: Int) -> Thumbnail {
    Thumbnail(maxSide: maxSide, longSideBits: longSideBits, atMostImageSide: atMostImageSide,
              longSideBitsFollowImage: longSideBitsFollowImage, lumaSteps: lumaStepsVersion2, coStepScale: 39, cgStepScale: 32,
              reconstructionBias: 0, deadZoneRounding: 5, lowStepScale: 16, lowStepLimit: 1600, levelOffset: -1,
              models: models, zeroMixerWeights: zero, greaterOneMixerWeights: greaterOne, priors: priors,
              priorBuckets: buckets, priorConfidence: 14)
  }

  static func build(_ make: () throws -> FormatProfile) -> FormatProfile {
    do { return try make() } catch { fatalError("MISC format profile is inconsistent: \(error)") }
  }

  /// Version 2 (frozen): thumbnails up to 256 a side, no gradient contexts.
  public static let version2 = build {
    try FormatProfile(
      version: 2,
      thumbnail: thumbnailVersion2Quantiser(
        maxSide: 256, longSideBits: 8, models: CoefficientCoder.ModelGroup.version2,
        zero: [30000, 30000, 10000], greaterOne: [40000, 25000],
        priors: ThumbnailPriorsVersion2.table, buckets: ThumbnailPriorsVersion2.buckets),
      flags: flagsVersion2, maps: mapsVersion2, text: textModelVersion2, passSeeds: .splitMix64)
  }

  /// Version 3 (frozen): the gradient contexts and their refitted priors.
  public static let version3 = build {
    try FormatProfile(
      version: 3,
      thumbnail: thumbnailVersion2Quantiser(
        maxSide: 256, longSideBits: 8, models: CoefficientCoder.ModelGroup.allCases,
        zero: [24000, 24000, 8000, 22000], greaterOne: [30000, 18000, 20000],
        priors: ThumbnailPriors.table, buckets: ThumbnailPriors.buckets),
      flags: flagsVersion2, maps: mapsVersion2, text: textModelVersion2, passSeeds: .splitMix64)
  }

  /// Version 4: thumbnails up to the image's own size (field 9 takes the bits of the image's
  /// long side less one, at least 10), and each string coded by the trained model or raw,
  /// whichever is shorter.
  public static let version4 = build {
    try FormatProfile(
      version: 4,
      thumbnail: thumbnailVersion2Quantiser(
        maxSide: Container.maxSide, longSideBits: 10, atMostImageSide: true, longSideBitsFollowImage: true,
        models: CoefficientCoder.ModelGroup.allCases,
        zero: [24000, 24000, 8000, 22000], greaterOne: [30000, 18000, 20000],
        priors: ThumbnailPriors.table, buckets: ThumbnailPriors.buckets),
      flags: flagsVersion2, maps: mapsVersion2,
      text: Text(modelIdentifier: textModelVersion2.modelIdentifier, rawEscape: true, rawP1: 4096),
      passSeeds: .splitMix64)
  }
}
