import MISCCoding
import MISCImage

/// How to encode: the rate and the map grid.
public struct EncoderConfiguration: Sendable, Hashable {
  /// The rate of the whole file.
  public var target: RateTarget = .level(.misc1)
  /// The grid of item maps made by a locator.
  public var grid: GridSize = .paper
  /// The format version to write (`FormatProfile.forVersion`): the current one unless a
  /// benchmark compares versions.
  public var formatVersion: Int = Container.version

  public init(target: RateTarget = .level(.misc1)) {
    self.target = target
  }
}

/// What an encode produced.
public struct EncodeResult: Sendable {
  public var bytes: [UInt8]
  public var layers: Container.LayerBits
  /// The semantics as coded (after level rules and any trimming to fit the budget).
  public var semantics: Semantics
  public var thumbnailSize: (width: Int, height: Int)?
  public var thumbnailQuality: Int?
  /// PSNR of I_ref, the upsampled thumbnail, against the original.
  public var referencePSNR: Double
  public var budgetBytes: Int
  /// Things the user should know, one line each (layers dropped to fit, for instance).
  public var notices: [String]

  public func bitsPerPixel(width: Int, height: Int) -> Double {
    Double(bytes.count * 8) / Double(width * height)
  }
}

/// An encode cannot meet its target.
public enum EncodeError: Error, CustomStringConvertible, Sendable {
  case budgetTooSmall(budgetBytes: Int, minimumBytes: Int)
  case imageTooLarge(width: Int, height: Int)

  public var description: String {
    switch self {
    case let .budgetTooSmall(budget, minimum):
      return "the budget of \(budget) bytes is below the smallest possible file (\(minimum) bytes); raise --bpp"
    case let .imageTooLarge(w, h):
      return "\(w)x\(h) is larger than the format's \(Container.maxSide) pixels per side"
    }
  }
}

/// The encoder pipeline: image → semantics (given or described) → maps (given or located)
/// → rate-controlled thumbnail → `.misc` bytes.
public struct MISCEncoder: Sendable {
  public var configuration: EncoderConfiguration
  /// Describes the image when no semantics are given; nil encodes without semantics.
  public var describer: (any Describer)?
  /// Locates items that have no map; nil leaves them without maps.
  public var locator: (any Locator)?
  public var rateControl = RateControl()

  public init(configuration: EncoderConfiguration = EncoderConfiguration(),
              describer: (any Describer)? = nil, locator: (any Locator)? = nil) {
    self.configuration = configuration
    self.describer = describer
    self.locator = locator
  }

  public func encode(_ image: Image, semantics given: Semantics? = nil) async throws -> EncodeResult {
    guard image.width <= Container.maxSide, image.height <= Container.maxSide else {
      throw EncodeError.imageTooLarge(width: image.width, height: image.height)
    }
    let target = configuration.target
    var notices: [String] = []
    var semantics = given ?? .empty
    if given == nil, let describer {
      semantics = try await describer.describe(image)
    }
    try semantics.validate()
    if !target.keepsItems && !semantics.items.isEmpty {
      semantics.items = []
    }
    if let locator, semantics.items.contains(where: { $0.map == nil }) {
      let missing = semantics.items.indices.filter { semantics.items[$0].map == nil }
      let maps = try await locator.locate(missing.map { semantics.items[$0].name }, in: image, grid: configuration.grid)
      for (index, map) in zip(missing, maps) { semantics.items[index].map = map }
    }

    let budget = min(target.budgetBytes(pixels: image.pixelCount), Container.maxFileBytes)
    let profile = try FormatProfile.forVersion(configuration.formatVersion)
    // Drop layers, least valuable first, until the semantics leave room for the file.
    while true {
      let prefix = try Container.Prefix(contents(image, semantics, target), profile: profile)
      if let choice = rateControl.choose(image: image, prefix: prefix, budgetBytes: budget) {
        if choice.thumbnailSize == nil {
          notices.append("no thumbnail fits in \(budget) bytes; the decode starts from mid-grey")
        }
        return EncodeResult(bytes: choice.encoded.bytes, layers: choice.encoded.layers, semantics: semantics,
                            thumbnailSize: choice.thumbnailSize, thumbnailQuality: choice.quality,
                            referencePSNR: choice.referencePSNR, budgetBytes: budget, notices: notices)
      }
      if let index = semantics.items.lastIndex(where: { $0.map != nil }) {
        semantics.items[index].map = nil
        notices.append("dropped the map of item \(index + 1) to fit \(budget) bytes")
      } else if !semantics.items.isEmpty {
        semantics.items.removeLast()
        notices.append("dropped item \(semantics.items.count + 1) to fit \(budget) bytes")
      } else if !semantics.overview.isEmpty {
        semantics.overview = ""
        notices.append("dropped the overview to fit \(budget) bytes")
      } else {
        let minimum = try Container.Prefix(contents(image, semantics, target), profile: profile).finish(thumbnail: nil, quality: 0).bytes.count
        throw EncodeError.budgetTooSmall(budgetBytes: budget, minimumBytes: minimum)
      }
    }
  }

  private func contents(_ image: Image, _ semantics: Semantics, _ target: RateTarget) -> Container.Contents {
    Container.Contents(
      width: image.width, height: image.height, level: target.levelCode, overview: semantics.overview,
      items: semantics.items)
  }
}
