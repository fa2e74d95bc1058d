/// The `.misc` container (`docs/FORMAT.md` documents it byte by byte). The version byte picks a
/// `FormatProfile`, which every coder below takes.
///
/// Three plain bytes (magic and version, then a CRC-16) precede one range-coded stream that
/// carries every field and layer in a fixed order. One shared stream needs no section
/// lengths, and its final flush costs under a byte, so the framing of a typical file is
/// about six bytes.
public enum Container {
  /// The format version this build writes.
  public static var version: Int { FormatProfile.current.version }
  /// Versions this build reads (`FormatProfile.all`).
  /// (Version 1 was a pre-release layout of the thumbnail coder that no release ever wrote.)
  public static let readableVersions = 2...4
  /// The magic occupies the top five bits of byte 0; the version the low three.
  static let magic: UInt8 = 0xB0
  /// Magic-and-version byte plus the CRC-16.
  public static let headerLength = 3
  /// The largest image side the format carries.
  public static let maxSide = 65535
  /// The default limit on decoded pixels, checked before anything is allocated.
  public static let defaultMaxPixels = 100_000_000
  /// The decompression-bomb bound: a file that declares more than `rateCheckFreePixels` must
  /// carry at least this many bits a pixel. The encoder's lowest target is 0.001 bpp, ten
  /// times this; a 10-byte file cannot claim 96 megapixels (docs/FORMAT.md).
  public static let defaultMinBitsPerPixel = 0.0001
  /// Images up to this many pixels (4 MP, about 50 MB to decode) pass the rate check whatever
  /// their size: a tiny file of a small image is harmless.
  public static let rateCheckFreePixels = 4_000_000
  /// The same bound for the thumbnail, which from version 4 may be as large as the image: one of
  /// more than `rateCheckFreePixels` must come with at least this many file bits a thumbnail
  /// pixel, so a small file cannot make the reader decode 100 MP of garbage. The encoder's
  /// thumbnails get about 0.1 bits a pixel (`RateControl.targetBitsPerPixel`), ten times this.
  public static let minThumbnailBitsPerPixel = 0.01
  public static let maxItems = 3
  /// Readers refuse larger files, and the encoder's budget never exceeds this: at its highest
  /// rate, 1 bpp, an image of up to 134 megapixels fits.
  public static let maxFileBytes = 1 << 24

  /// One named item (paper: T_n[j], T_d[j], M[j]).
  public struct Item: Sendable, Hashable {
    public var name: String
    public var detail: String
    public var map: BinaryMap?

    public init(name: String, detail: String, map: BinaryMap? = nil) {
      self.name = name
      self.detail = detail
      self.map = map
    }
  }

  /// The decoded thumbnail: 8-bit RGB, interleaved.
  public struct Thumbnail: Sendable, Hashable {
    public var width: Int
    public var height: Int
    public var rgb: [UInt8]

    public init(width: Int, height: Int, rgb: [UInt8]) {
      self.width = width
      self.height = height
      self.rgb = rgb
    }
  }

  /// Everything a `.misc` file says.
  public struct Contents: Sendable, Hashable {
    public var width: Int
    public var height: Int
    /// 1, 2 or 3 for the MISC-n presets; 0 for a custom rate.
    public var level: Int
    public var overview: String
    public var items: [Item]
    public var thumbnail: Thumbnail?

    public init(width: Int, height: Int, level: Int, overview: String = "", items: [Item] = [], thumbnail: Thumbnail? = nil) {
      self.width = width
      self.height = height
      self.level = level
      self.overview = overview
      self.items = items
      self.thumbnail = thumbnail
    }
  }

  /// Bits spent on each layer. The range coder shares one stream, so a layer's cost is the
  /// difference of the coder's exact position before and after it; framing is the rest.
  public struct LayerBits: Sendable, Hashable, Codable {
    public var thumbnail = 0.0
    public var overview = 0.0
    public var names = 0.0
    public var details = 0.0
    public var maps = 0.0
    /// Everything else: magic, version, check value, dimensions, level, final flush.
    public var framing = 0.0
    public var total: Double { thumbnail + overview + names + details + maps + framing }
  }

  public struct Encoded: Sendable, Hashable {
    public var bytes: [UInt8]
    public var layers: LayerBits
  }

  public struct Decoded: Sendable, Hashable {
    public var contents: Contents
    public var layers: LayerBits
    public var version: Int
    /// The decode seed, derived from the file's bytes (see `seed(of:)`).
    public var seed: UInt32
  }

  /// The thumbnail size for a long side of `longSide` pixels, keeping the image's aspect.
  public static func thumbnailSize(imageWidth: Int, imageHeight: Int, longSide: Int) -> (width: Int, height: Int) {
    let long = max(imageWidth, imageHeight)
    let short = min(imageWidth, imageHeight)
    let derived = max(1, (longSide * short + long / 2) / long)
    return imageWidth >= imageHeight ? (longSide, derived) : (derived, longSide)
  }

  /// The decode seed of a file: FNV-1a (32-bit) of all its bytes. It costs no bits and changes
  /// whenever the content does; `misc decode --seed` overrides it.
  public static func seed(of bytes: [UInt8]) -> UInt32 {
    var hash: UInt32 = 0x811C_9DC5
    for byte in bytes {
      hash = (hash ^ UInt32(byte)) &* 0x0100_0193
    }
    return hash
  }

  /// Encode `contents`, coding the thumbnail (if any) at `thumbnailQuality`.
  public static func encode(_ contents: Contents, thumbnailQuality: Int, profile: FormatProfile = .current) throws -> Encoded {
    let prefix = try Prefix(contents, profile: profile)
    return prefix.finish(thumbnail: contents.thumbnail, quality: thumbnailQuality)
  }

  /// A file encoded up to its last layer, the thumbnail. Rate control finishes copies of it
  /// with many candidate thumbnails without coding the text again.
  public struct Prefix: Sendable {
    private var encoder = RangeEncoder()
    private var layers = LayerBits()
    private let width: Int
    private let height: Int
    /// The format the file is written in.
    public let profile: FormatProfile

    public init(_ contents: Contents, profile: FormatProfile = .current) throws {
      try Container.validate(contents, profile: profile)
      self.profile = profile
      let flags = profile.flags
      width = contents.width
      height = contents.height
      var mark = 0.0
      func take(_ keyPath: WritableKeyPath<LayerBits, Double>, _ encoder: RangeEncoder, _ layers: inout LayerBits) {
        layers[keyPath: keyPath] += encoder.bitCount - mark
        mark = encoder.bitCount
      }
      DimensionCode.encode(contents.width, to: &encoder)
      DimensionCode.encode(contents.height, to: &encoder)
      encoder.encodeBits(UInt32(contents.level), count: 2)
      encoder.encodeBits(UInt32(contents.items.count), count: 2)
      take(\.framing, encoder, &layers)

      var text = try TextCoder(profile: profile)
      encoder.encode(bit: contents.overview.isEmpty, p1: flags.noOverviewP1)
      if !contents.overview.isEmpty { text.encode(contents.overview, to: &encoder) }
      take(\.overview, encoder, &layers)
      for item in contents.items {
        text.encode(item.name, to: &encoder)
        take(\.names, encoder, &layers)
        text.encode(item.detail, to: &encoder)
        take(\.details, encoder, &layers)
      }

      var maps = MapCoder(profile: profile)
      var grid: (Int, Int)? = nil
      for item in contents.items {
        encoder.encode(bit: item.map != nil, p1: flags.mapPresentP1)
        guard let map = item.map else { continue }
        let same = grid.map { $0 == (map.width, map.height) } ?? false
        if grid != nil {
          encoder.encode(bit: same, p1: flags.sameGridP1)
        }
        if !same {
          let square8 = map.width == 8 && map.height == 8
          encoder.encode(bit: square8, p1: flags.grid8P1)
          if !square8 {
            encoder.encodeBits(UInt32(map.width - 8), count: 4)
            encoder.encodeBits(UInt32(map.height - 8), count: 4)
          }
          grid = (map.width, map.height)
        }
        maps.encode(map, to: &encoder)
      }
      take(\.maps, encoder, &layers)
    }

    /// Bits spent so far (before the thumbnail and the final flush).
    public var bitCount: Double { encoder.bitCount }

    /// Append the thumbnail layer and the check value.
    public func finish(thumbnail: Thumbnail?, quality: Int) -> Encoded {
      finish(analysed: thumbnail.map { ThumbnailCodec.analyse(rgb: $0.rgb, width: $0.width, height: $0.height, profile: profile) },
             quality: quality)
    }

    /// Append a thumbnail given by its `ThumbnailCodec.analyse` result (a rate search codes one
    /// thumbnail at many qualities) and the check value.
    public func finish(analysed thumbnail: ThumbnailCodec.Analysis?, quality: Int) -> Encoded {
      finishWithLevels(analysed: thumbnail, quality: quality).encoded
    }

    /// `finish(analysed:quality:)`, also returning the thumbnail's quantised levels, from which
    /// the decoded thumbnail follows without decoding the file. `lambdaFactor` scales the
    /// thumbnail encoder's rate-distortion multiplier (`ThumbnailCodec.encode`): an encoder-side
    /// choice that a rate search uses to size the file between two qualities.
    public func finishWithLevels(analysed thumbnail: ThumbnailCodec.Analysis?, quality: Int, lambdaFactor: Double = 1)
      -> (encoded: Encoded, levels: ThumbnailCodec.Levels?) {
      var encoder = self.encoder
      var levels: ThumbnailCodec.Levels? = nil
      var layers = self.layers
      let before = encoder.bitCount
      encoder.encode(bit: thumbnail != nil, p1: profile.flags.thumbnailPresentP1)
      if let thumbnail {
        let long = max(thumbnail.width, thumbnail.height)
        let expected = Container.thumbnailSize(imageWidth: width, imageHeight: height, longSide: long)
        precondition(expected == (thumbnail.width, thumbnail.height) && long <= profile.thumbnail.maxSide
                       && thumbnail.profile.maxSide == profile.thumbnail.maxSide,
                     "thumbnail size must come from Container.thumbnailSize, analysed with the file's profile")
        encoder.encodeBits(UInt32(long - 1), count: profile.thumbnail.longSideBits(imageLongSide: max(width, height)))
        levels = ThumbnailCodec.encode(thumbnail, quality: quality, to: &encoder, lambdaFactor: lambdaFactor)
      }
      layers.thumbnail = encoder.bitCount - before
      let body = encoder.finish()
      var bytes = [Container.magic | UInt8(profile.version), 0, 0]
      bytes.append(contentsOf: body)
      let crc = Container.checksum(bytes)
      bytes[1] = UInt8(crc >> 8)
      bytes[2] = UInt8(crc & 0xFF)
      layers.framing = Double(bytes.count * 8) - (layers.thumbnail + layers.overview + layers.names + layers.details + layers.maps)
      return (Encoded(bytes: bytes, layers: layers), levels)
    }
  }

  /// Read a `.misc` file. Never traps on hostile input: every failure is a `ContainerError`.
  /// Refuses, before allocating anything of the image's size, a file above `maxPixels` or one
  /// whose declared pixels imply fewer than `minBitsPerPixel` (see `defaultMinBitsPerPixel`),
  /// and a thumbnail above `maxThumbnailPixels` (the fuzz targets bound it: a thumbnail's long
  /// side, up to the profile's cap, need not scale with the image's size). A string longer than
  /// `maxTextBytes` UTF-8 bytes (at most `TextCoder.maxBytes`, the format's limit) is refused as
  /// soon as it gets there (the fuzz targets bound it too: a corrupt string can run to the limit
  /// on a few bytes of input, every byte of it eight predicted bits).
  public static func decode(_ bytes: [UInt8], maxPixels: Int = defaultMaxPixels,
                            minBitsPerPixel: Double = defaultMinBitsPerPixel,
                            maxThumbnailPixels: Int = Int.max, maxTextBytes: Int = TextCoder.maxBytes) throws -> Decoded {
    guard let first = bytes.first else { throw ContainerError.empty }
    guard first & 0xF8 == magic else { throw ContainerError.notMISC(firstByte: first) }
    let version = Int(first & 0x07)
    guard readableVersions.contains(version) else { throw ContainerError.unsupportedVersion(version) }
    let profile = try FormatProfile.forVersion(version)
    guard bytes.count >= headerLength else { throw ContainerError.truncated(length: bytes.count) }
    let stored = UInt16(bytes[1]) << 8 | UInt16(bytes[2])
    let computed = checksum(bytes)
    guard stored == computed else { throw ContainerError.checksumMismatch(stored: stored, computed: computed) }
    do {
      return try decodeBody(bytes, profile: profile, maxPixels: maxPixels, minBitsPerPixel: minBitsPerPixel,
                            maxThumbnailPixels: maxThumbnailPixels, maxTextBytes: maxTextBytes)
    } catch let error as CodingError {
      throw ContainerError.invalid(error)
    }
  }

  private static func decodeBody(_ bytes: [UInt8], profile: FormatProfile, maxPixels: Int, minBitsPerPixel: Double,
                                 maxThumbnailPixels: Int, maxTextBytes: Int) throws -> Decoded {
    let flags = profile.flags
    var decoder = RangeDecoder(bytes, offset: headerLength)
    var layers = LayerBits()
    var mark = decoder.bitCount
    func take(_ keyPath: WritableKeyPath<LayerBits, Double>) {
      layers[keyPath: keyPath] += decoder.bitCount - mark
      mark = decoder.bitCount
    }
    let width = try DimensionCode.decode(from: &decoder, field: "width")
    let height = try DimensionCode.decode(from: &decoder, field: "height")
    guard width * height <= maxPixels else {
      throw ContainerError.imageTooLarge(width: width, height: height, limit: maxPixels)
    }
    if width * height > rateCheckFreePixels && Double(bytes.count * 8) < minBitsPerPixel * Double(width * height) {
      throw ContainerError.rateTooLow(width: width, height: height, bytes: bytes.count, minBitsPerPixel: minBitsPerPixel)
    }
    let level = Int(decoder.decodeBits(count: 2))
    let itemCount = Int(decoder.decodeBits(count: 2))
    take(\.framing)

    guard itemCount <= maxItems else { throw CodingError("items", "\(itemCount) items, at most \(maxItems) allowed") }
    var text = try TextCoder(profile: profile)
    let overview = decoder.decodeBit(p1: flags.noOverviewP1) ? "" : try text.decode(from: &decoder, maxBytes: maxTextBytes)
    take(\.overview)
    var items: [Item] = []
    for _ in 0..<itemCount {
      let name = try text.decode(from: &decoder, maxBytes: maxTextBytes)
      take(\.names)
      let detail = try text.decode(from: &decoder, maxBytes: maxTextBytes)
      take(\.details)
      items.append(Item(name: name, detail: detail))
    }

    var maps = MapCoder(profile: profile)
    var grid: (Int, Int)? = nil
    for index in items.indices {
      guard decoder.decodeBit(p1: flags.mapPresentP1) else { continue }
      let same = grid != nil && decoder.decodeBit(p1: flags.sameGridP1)
      if !same {
        if decoder.decodeBit(p1: flags.grid8P1) {
          grid = (8, 8)
        } else {
          grid = (Int(decoder.decodeBits(count: 4)) + 8, Int(decoder.decodeBits(count: 4)) + 8)
        }
      }
      let (gw, gh) = grid!
      items[index].map = try maps.decode(width: gw, height: gh, from: &decoder)
    }
    take(\.maps)

    var thumbnail: Thumbnail? = nil
    if decoder.decodeBit(p1: flags.thumbnailPresentP1) {
      let longSide = Int(decoder.decodeBits(count: profile.thumbnail.longSideBits(imageLongSide: max(width, height)))) + 1
      guard longSide <= profile.thumbnail.maxSide else {
        throw CodingError("thumbnail", "long side \(longSide) is above \(profile.thumbnail.maxSide)")
      }
      guard !profile.thumbnail.atMostImageSide || longSide <= max(width, height) else {
        throw CodingError("thumbnail", "long side \(longSide) is above the image's \(max(width, height))")
      }
      let size = thumbnailSize(imageWidth: width, imageHeight: height, longSide: longSide)
      let thumbnailPixels = size.width * size.height
      if minBitsPerPixel > 0 && thumbnailPixels > rateCheckFreePixels
        && Double(bytes.count * 8) < minThumbnailBitsPerPixel * Double(thumbnailPixels) {
        throw CodingError("thumbnail", "\(size.width)x\(size.height) in a file of \(bytes.count) bytes, fewer than "
                            + "\(minThumbnailBitsPerPixel) bits a thumbnail pixel (a decompression bomb)")
      }
      guard thumbnailPixels <= maxThumbnailPixels else {
        throw CodingError("thumbnail", "\(size.width)x\(size.height), more than the reader's \(maxThumbnailPixels) pixels")
      }
      let rgb = try ThumbnailCodec.decode(width: size.width, height: size.height, from: &decoder, profile: profile)
      thumbnail = Thumbnail(width: size.width, height: size.height, rgb: rgb)
    }
    take(\.thumbnail)
    layers.framing = Double(bytes.count * 8) - (layers.thumbnail + layers.overview + layers.names + layers.details + layers.maps)

    let contents = Contents(width: width, height: height, level: level, overview: overview, items: items, thumbnail: thumbnail)
    return Decoded(contents: contents, layers: layers, version: profile.version, seed: seed(of: bytes))
  }

  /// CRC-16 over byte 0 and the body (bytes 3...), i.e. everything but the check value itself.
  static func checksum(_ bytes: [UInt8]) -> UInt16 {
    let head = CRC16.checksum(bytes.prefix(1))
    return CRC16.checksum(bytes.dropFirst(headerLength), initial: head)
  }

  static func validate(_ contents: Contents, profile: FormatProfile) throws {
    guard (1...maxSide).contains(contents.width), (1...maxSide).contains(contents.height) else {
      throw CodingError("dimensions", "\(contents.width)x\(contents.height) is outside 1...\(maxSide)")
    }
    guard (0...3).contains(contents.level) else { throw CodingError("level", "\(contents.level) is outside 0...3") }
    guard contents.items.count <= maxItems else {
      throw CodingError("items", "\(contents.items.count) items, at most \(maxItems) allowed")
    }
    for text in [contents.overview] + contents.items.flatMap({ [$0.name, $0.detail] }) where text.utf8.count > TextCoder.maxBytes {
      throw CodingError("text", "a string of \(text.utf8.count) bytes exceeds \(TextCoder.maxBytes)")
    }
    for (index, item) in contents.items.enumerated() {
      if let map = item.map, !(BinaryMap.sideRange.contains(map.width) && BinaryMap.sideRange.contains(map.height)) {
        throw CodingError("map \(index + 1)", "grid \(map.width)x\(map.height) is outside \(BinaryMap.sideRange)")
      }
    }
    if let t = contents.thumbnail {
      let long = max(t.width, t.height)
      guard (1...profile.thumbnail.maxSide).contains(long), !profile.thumbnail.atMostImageSide || long <= max(contents.width, contents.height),
            t.rgb.count == t.width * t.height * 3 else {
        throw CodingError("thumbnail", "\(t.width)x\(t.height) is not a valid thumbnail")
      }
      let expected = thumbnailSize(imageWidth: contents.width, imageHeight: contents.height, longSide: long)
      guard expected == (t.width, t.height) else {
        throw CodingError("thumbnail", "\(t.width)x\(t.height) does not keep the image's aspect (expected \(expected.width)x\(expected.height))")
      }
    }
  }
}

/// Image sides, 1...65535, coded as bit length (4 bits), trailing zeros, and the bits between:
/// sizes like 768 or 512 cost 8 bits, 1920 costs 10.
enum DimensionCode {
  static func encode(_ value: Int, to encoder: inout RangeEncoder) {
    let v = UInt32(value)
    let length = 32 - v.leadingZeroBitCount  // 1...16
    let zeros = v.trailingZeroBitCount  // 0...length-1
    encoder.encodeBits(UInt32(length - 1), count: 4)
    encoder.encodeBits(UInt32(zeros), count: bitsFor(length))
    let middle = length - 1 - zeros - 1  // bits strictly between the leading and the lowest 1
    if middle > 0 {
      encoder.encodeBits(v >> UInt32(zeros + 1), count: middle)
    }
  }

  static func decode(from decoder: inout RangeDecoder, field: String) throws -> Int {
    let length = Int(decoder.decodeBits(count: 4)) + 1
    let zeros = Int(decoder.decodeBits(count: bitsFor(length)))
    guard zeros < length else { throw CodingError(field, "invalid size code") }
    let middle = length - 1 - zeros - 1
    var v: UInt32 = 1
    if middle > 0 {
      v = (1 << UInt32(middle)) | decoder.decodeBits(count: middle)
    }
    if length - 1 > zeros {
      v = (v << 1) | 1
    }
    return Int(v << UInt32(zeros))
  }

  /// Bits needed to code a count in 0..<n.
  private static func bitsFor(_ n: Int) -> Int {
    n <= 1 ? 0 : Int.bitWidth - (n - 1).leadingZeroBitCount
  }
}
