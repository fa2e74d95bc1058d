import Foundation
import Testing
@testable import MISCCoding

/// The conformance corpus (`Tests/Conformance/v<N>/`): small `.misc` files of every format
/// version this build reads, each with its expected decode in `expected.json`. CI decodes them
/// all; a change that alters the decode of any existing file fails here.
///
/// The files come from `ConformanceCorpus.cases` (below), coded by the version's profile. To
/// write a version's folder (once, when the version is created):
///
///     MISC_WRITE_CONFORMANCE=3 swift test --filter ConformanceTests/write
@Suite struct ConformanceTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Conformance")

  static func folder(_ version: Int) -> URL { root.appendingPathComponent("v\(version)") }

  static func load(_ version: Int) throws -> [ConformanceCorpus.Expected] {
    let data = try Data(contentsOf: folder(version).appendingPathComponent("expected.json"))
    return try JSONDecoder().decode([ConformanceCorpus.Expected].self, from: data)
  }

  @Test(arguments: ConformanceCorpus.versions)
  func everyFileDecodesAsExpected(version: Int) throws {
    let expected = try Self.load(version)
    #expect(expected.count >= 20, "v\(version) has \(expected.count) files")
    for entry in expected {
      let bytes = try [UInt8](Data(contentsOf: Self.folder(version).appendingPathComponent(entry.file)))
      #expect(SHA256.hex(SHA256.hash(bytes)) == entry.fileSHA256, "\(entry.file): the file itself changed")
      let decoded = try Container.decode(bytes)
      #expect(decoded.version == version, "\(entry.file)")
      let actual = ConformanceCorpus.Expected(file: entry.file, bytes: bytes, decoded: decoded)
      #expect(actual == entry, "\(entry.file) decodes differently:\n\(actual)\nexpected\n\(entry)")
    }
  }

  /// The profiles still write exactly the committed files from the cases below: version 3's
  /// files were written by the version-3 build before profiles existed, so this proves the
  /// frozen profile codes as that build did.
  @Test(arguments: ConformanceCorpus.versions)
  func profilesStillWriteTheCorpus(version: Int) throws {
    let expected = try Self.load(version)
    let cases = ConformanceCorpus.cases(version: version)
    #expect(cases.count == expected.count)
    for (entry, testCase) in zip(expected, cases) {
      let bytes = try [UInt8](Data(contentsOf: Self.folder(version).appendingPathComponent(entry.file)))
      #expect(try ConformanceCorpus.encode(testCase, version: version) == bytes, "\(entry.file)")
    }
  }

  /// Every feature the issue names is in each version's corpus.
  @Test(arguments: ConformanceCorpus.versions)
  func corpusCoversEveryFeature(version: Int) throws {
    let expected = try Self.load(version)
    #expect(expected.contains { $0.textCount == 0 && $0.mapCount == 0 }, "a file without semantics")
    #expect(expected.contains { $0.textCount == 1 }, "an overview only")
    #expect(expected.contains { $0.mapCount > 0 } && expected.contains { $0.textCount > 1 && $0.mapCount == 0 })
    let grids = Set(expected.flatMap(\.grids))
    for side in 8...16 {
      #expect(grids.contains { $0.hasPrefix("\(side)x") } && grids.contains { $0.hasSuffix("x\(side)") }, "grid side \(side)")
    }
    #expect(grids.contains { let p = $0.split(separator: "x"); return p[0] != p[1] }, "a non-square grid")
    #expect(expected.contains { $0.width * $0.height <= 4 } && expected.contains { $0.width * $0.height >= 20_000_000 })
    #expect(expected.contains { $0.bitsPerPixel <= 0.001 } && expected.contains { $0.bitsPerPixel >= 0.2 })
    #expect(expected.contains { $0.nonASCII })
    #expect(Set(expected.map(\.level)) == [0, 1, 2, 3])
  }

  /// The writer: run with `MISC_WRITE_CONFORMANCE=<version>` to (re)create that version's folder.
  @Test func write() throws {
    guard let value = ProcessInfo.processInfo.environment["MISC_WRITE_CONFORMANCE"], let version = Int(value) else { return }
    let folder = Self.folder(version)
    try? FileManager.default.removeItem(at: folder)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var expected: [ConformanceCorpus.Expected] = []
    for (index, testCase) in ConformanceCorpus.cases(version: version).enumerated() {
      let bytes = try ConformanceCorpus.encode(testCase, version: version)
      let name = String(format: "%02d-%@.misc", index + 1, testCase.name)
      try Data(bytes).write(to: folder.appendingPathComponent(name))
      expected.append(ConformanceCorpus.Expected(file: name, bytes: bytes, decoded: try Container.decode(bytes)))
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try (encoder.encode(expected) + Data("\n".utf8)).write(to: folder.appendingPathComponent("expected.json"))
  }
}

/// The corpus's cases and its expected-decode record.
enum ConformanceCorpus {
  static let versions = [2, 3, 4]

  struct Case {
    var name: String
    var contents: Container.Contents
    var quality: Int
  }

  /// The file's bytes as the version's profile writes them.
  static func encode(_ testCase: Case, version: Int) throws -> [UInt8] {
    try Container.encode(testCase.contents, thumbnailQuality: testCase.quality, profile: FormatProfile.forVersion(version)).bytes
  }

  /// What a file decodes to, as hashes (SHA-256, hex) and the values that are short.
  struct Expected: Codable, Equatable, CustomStringConvertible {
    var file: String
    var fileSHA256: String
    var width: Int
    var height: Int
    var level: Int
    var bitsPerPixel: Double
    /// The overview (if any), then each item's name and detail.
    var textCount: Int
    var nonASCII: Bool
    /// SHA-256 of each text as a 4-byte big-endian length and its UTF-8.
    var textsSHA256: String
    var mapCount: Int
    var grids: [String]
    /// SHA-256 of each item's map: 0 when absent, else 1, width, height and a byte a cell.
    var mapsSHA256: String
    var thumbnail: String?
    /// SHA-256 of the thumbnail's RGB bytes.
    var thumbnailSHA256: String?
    /// The file's seed and the four pass seeds, hex.
    var seeds: [String]

    init(file: String, bytes: [UInt8], decoded: Container.Decoded) {
      let c = decoded.contents
      self.file = file
      fileSHA256 = SHA256.hex(SHA256.hash(bytes))
      width = c.width
      height = c.height
      level = c.level
      bitsPerPixel = (Double(bytes.count * 8) / Double(c.width * c.height) * 1e7).rounded() / 1e7
      let texts = (c.overview.isEmpty ? [] : [c.overview]) + c.items.flatMap { [$0.name, $0.detail] }
      textCount = texts.count
      nonASCII = texts.contains { $0.utf8.contains { $0 >= 0x80 } }
      var text = SHA256()
      for t in texts {
        let n = UInt32(t.utf8.count)
        text.update([UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)])
        text.update(Array(t.utf8))
      }
      textsSHA256 = SHA256.hex(text.finalize())
      var maps = SHA256()
      for item in c.items {
        guard let map = item.map else { maps.update([0]); continue }
        maps.update([1, UInt8(map.width), UInt8(map.height)])
        maps.update(map.cells.map { $0 ? 1 : 0 })
      }
      mapsSHA256 = SHA256.hex(maps.finalize())
      mapCount = c.items.filter { $0.map != nil }.count
      grids = c.items.compactMap { $0.map.map { "\($0.width)x\($0.height)" } }
      thumbnail = c.thumbnail.map { "\($0.width)x\($0.height)" }
      thumbnailSHA256 = c.thumbnail.map { SHA256.hex(SHA256.hash($0.rgb)) }
      seeds = ([decoded.seed] + (0...Container.maxItems).map { FormatProfile.passSeed(fileSeed: decoded.seed, index: $0) })
        .map { String(format: "%08x", $0) }
    }

    var description: String {
      "\(width)x\(height) L\(level) \(bitsPerPixel) bpp, texts \(textsSHA256.prefix(12)), maps \(grids) \(mapsSHA256.prefix(12)), "
        + "thumbnail \(thumbnail ?? "-") \(thumbnailSHA256?.prefix(12) ?? "-"), seeds \(seeds)"
    }
  }

  /// A deterministic photo-like thumbnail: smooth colour fields, an edge and seeded noise.
  static func picture(width: Int, height: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    var rgb = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
      for x in 0..<width {
        let u = Double(x) / Double(max(width, 1)), v = Double(y) / Double(max(height, 1))
        let edge = u + 0.5 * v > 0.8 ? 60.0 : 0.0
        let noise = Double(next() % 17) - 8
        let r = 40 + 150 * u + edge + noise
        let g = 90 + 80 * v + 30 * sin(9 * u) + noise
        let b = 180 - 120 * u * v - edge + noise
        let i = 3 * (y * width + x)
        rgb[i] = UInt8(min(max(r, 0), 255)); rgb[i + 1] = UInt8(min(max(g, 0), 255)); rgb[i + 2] = UInt8(min(max(b, 0), 255))
      }
    }
    return rgb
  }

  /// A map with a blob of set cells (seeded), or a uniform one.
  static func map(_ width: Int, _ height: Int, seed: Int, fill: Bool? = nil) -> BinaryMap {
    if let fill { return BinaryMap(width: width, height: height, fill: fill) }
    var map = BinaryMap(width: width, height: height)
    let cx = Double(seed % width), cy = Double((seed * 7) % height), r = Double(2 + seed % 4)
    for y in 0..<height {
      for x in 0..<width where (Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy) * 1.5 <= r * r {
        map[x, y] = true
      }
    }
    return map
  }

  static func thumbnail(_ width: Int, _ height: Int, longSide: Int, seed: UInt64) -> Container.Thumbnail {
    let size = Container.thumbnailSize(imageWidth: width, imageHeight: height, longSide: longSide)
    return Container.Thumbnail(width: size.width, height: size.height, rgb: picture(width: size.width, height: size.height, seed: seed))
  }

  static let english = "A red bicycle leaning against a stone wall beside a wooden door, morning light."
  static let french = "Une bicyclette rouge appuyée contre un mur de pierre, à côté d'une porte en bois ; lumière du matin."
  static let german = "Ein rotes Fahrrad lehnt an einer Steinmauer neben einer Holztür, Morgenlicht über den Straßen."
  static let russian = "Красный велосипед прислонён к каменной стене рядом с деревянной дверью, утренний свет."
  static let chinese = "一辆红色自行车靠在木门旁的石墙上，清晨的阳光。"
  static let emoji = "🚲🧱🚪☀️🌳🐦🌸🏠🚗🙂"

  /// The cases of a version's corpus. Versions 2 and 3 have the same cases; later versions add
  /// theirs at the end (a version's files never change once written).
  static func cases(version: Int) -> [Case] {
    func c(_ name: String, _ w: Int, _ h: Int, level: Int = 0, overview: String = "", items: [Container.Item] = [],
           thumb: Int? = nil, quality: Int = 20, seed: UInt64 = 1) -> Case {
      Case(name: name, contents: Container.Contents(width: w, height: h, level: level, overview: overview, items: items,
                                                      thumbnail: thumb.map { thumbnail(w, h, longSide: $0, seed: seed) }),
           quality: quality)
    }
    func item(_ name: String, _ detail: String, _ map: BinaryMap?) -> Container.Item { Container.Item(name: name, detail: detail, map: map) }
    var cases: [Case] = [
      c("empty", 1, 1),
      c("tiny-thumbnail", 2, 2, thumb: 2, quality: 40, seed: 2),
      c("overview-only", 768, 512, level: 1, overview: english),
      c("overview-thumbnail-low-rate", 768, 512, level: 1, overview: "A bicycle.", thumb: 8, quality: 5, seed: 3),
      c("items-no-maps", 640, 480, level: 2, overview: english,
        items: [item("bicycle", "red, leaning on the wall", nil), item("door", "wooden, closed", nil)], thumb: 24, quality: 12, seed: 4),
      c("maps-8-9-10", 512, 512, level: 2, overview: english,
        items: [item("bicycle", "red", map(8, 8, seed: 1)), item("door", "wood", map(9, 12, seed: 2)), item("wall", "stone", map(10, 10, seed: 3))],
        thumb: 32, quality: 16, seed: 5),
      c("maps-11-12-13", 800, 600, level: 3, overview: english,
        items: [item("a", "b", map(11, 16, seed: 4)), item("c", "d", map(12, 9, seed: 5)), item("e", "f", map(13, 13, seed: 6))],
        thumb: 40, quality: 18, seed: 6),
      c("maps-14-15-16", 1024, 768, level: 3, overview: english,
        items: [item("a", "b", map(14, 8, seed: 7)), item("c", "d", map(15, 11, seed: 8)), item("e", "f", map(16, 16, seed: 9))],
        thumb: 48, quality: 18, seed: 7),
      c("maps-same-grid", 600, 400, level: 2, overview: english,
        items: [item("sky", "blue", map(12, 14, seed: 10)), item("tree", "green", map(12, 14, seed: 11)), item("car", "grey", map(12, 14, seed: 12))],
        thumb: 36, quality: 14, seed: 8),
      c("maps-uniform-and-absent", 600, 400, level: 2, overview: english,
        items: [item("everything", "", map(8, 8, seed: 0, fill: true)), item("ghost", "not there", nil), item("nothing", "", map(16, 9, seed: 0, fill: false))],
        thumb: 20, quality: 10, seed: 9),
      c("no-overview-items", 320, 240, level: 0,
        items: [item("bicycle", "red", map(8, 8, seed: 13))], thumb: 16, quality: 20, seed: 10),
      c("french", 768, 512, level: 1, overview: french, items: [item("vélo", "rouge, appuyé", map(10, 8, seed: 14))], thumb: 64, quality: 20, seed: 11),
      c("german", 768, 512, level: 1, overview: german, items: [item("Fahrrad", "rot, an der Mauer", nil)], thumb: 64, quality: 20, seed: 12),
      c("russian", 512, 768, level: 1, overview: russian, items: [item("велосипед", "красный", map(8, 12, seed: 15))], thumb: 64, quality: 20, seed: 13),
      c("chinese", 768, 512, level: 1, overview: chinese, items: [item("自行车", "红色", nil)], thumb: 64, quality: 20, seed: 14),
      c("emoji", 400, 400, level: 0, overview: emoji, items: [item("🚲", "🔴", nil)], thumb: 32, quality: 25, seed: 15),
      c("high-rate-0.2bpp", 96, 64, level: 0, thumb: 96, quality: 30, seed: 16),
      c("portrait", 512, 768, level: 0, overview: english, thumb: 80, quality: 22, seed: 17),
      c("wide-side", 65535, 1, level: 0, thumb: 256, quality: 10, seed: 18),
      c("tall-side", 3, 65535, level: 0, thumb: 256, quality: 10, seed: 19),
      c("large-20mp", 5000, 4000, level: 1, overview: english, thumb: 256, quality: 26, seed: 20),
      c("thumbnail-256-fine", 768, 512, level: 0, thumb: 256, quality: 45, seed: 21),
      c("thumbnail-coarsest", 768, 512, level: 0, thumb: 128, quality: 0, seed: 22),
      c("odd-sizes", 333, 111, level: 2, overview: "odd", items: [item("x", "y", map(9, 15, seed: 16))], thumb: 37, quality: 33, seed: 23),
    ]
    if version >= 4 {
      cases += [
        // Thumbnails above 256 a side, and strings the encoder sends raw.
        c("v4-thumbnail-1024", 4000, 3000, level: 0, overview: english, thumb: 1024, quality: 4, seed: 24),
        c("v4-thumbnail-600-portrait", 900, 1350, level: 1, thumb: 600, quality: 10, seed: 25),
        c("v4-raw-text", 768, 512, level: 2, overview: emoji + emoji,
          items: [item("🚲🚲", "🔴🔴🔴", map(8, 8, seed: 17)), item("bicycle", english, nil)], thumb: 300, quality: 8, seed: 26),
        // Field 9 widened by the image: 12 bits at 6000 a side, 11 at 1500 (the image's own size).
        c("v4-thumbnail-2000", 6000, 4000, level: 0, thumb: 2000, quality: 2, seed: 27),
        c("v4-thumbnail-image-size", 1500, 1000, level: 1, overview: "A bicycle.", thumb: 1500, quality: 3, seed: 28),
      ]
    }
    return cases
  }
}
