import Foundation
import MISCCoding
import MISCImage

/// What a person would say about an image: the overview (paper: T_all) and up to three
/// items, each a name (T_n), a short detail (T_d) and optionally a location map (M).
public struct Semantics: Sendable, Hashable {
  /// One item: a name (≤3 words, used to locate it), a detail (≤10 words, the prompt of its
  /// restoration pass, eq. 7) and optionally its map. The container's type, shared as is.
  public typealias Item = Container.Item

  /// About fifty words; with the aesthetic words, the prompt of the final pass (eq. 8).
  public var overview: String
  public var items: [Item]

  public init(overview: String = "", items: [Item] = []) {
    self.overview = overview
    self.items = items
  }

  public static let empty = Semantics()
  public var isEmpty: Bool { overview.isEmpty && items.isEmpty }
}

// MARK: - JSON

/// A semantics file could not be read: which file, and what is wrong with it.
public struct SemanticsError: Error, CustomStringConvertible, Sendable {
  public var source: String
  public var reason: String
  public var description: String { "\(source): \(reason)" }
}

extension Semantics: Codable {
  private enum Keys: String, CodingKey { case overview, items }
  private enum ItemKeys: String, CodingKey { case name, detail, map, box, grid }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Keys.self)
    overview = try container.decodeIfPresent(String.self, forKey: .overview) ?? ""
    var items: [Item] = []
    guard container.contains(.items) else {
      self.items = []
      return
    }
    var list = try container.nestedUnkeyedContainer(forKey: .items)
    while !list.isAtEnd {
      // Stop at the first item past the limit instead of decoding the rest.
      if items.count == Container.maxItems {
        throw SemanticsError(source: "items", reason: "more than \(Container.maxItems) items; MISC carries at most \(Container.maxItems)")
      }
      let item = try list.nestedContainer(keyedBy: ItemKeys.self)
      let name = try item.decodeIfPresent(String.self, forKey: .name) ?? ""
      let detail = try item.decodeIfPresent(String.self, forKey: .detail) ?? ""
      var map: BinaryMap? = nil
      if item.contains(.map) {
        map = try Self.decodeRows(item, index: items.count)
      } else if item.contains(.box) {
        let box = try item.decode([Double].self, forKey: .box)
        let grid = try Self.decodeGrid(item, index: items.count)
        map = try Self.rasterize(box: box, grid: grid, index: items.count, path: item.codingPath)
      }
      items.append(Item(name: name, detail: detail, map: map))
    }
    self.items = items
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Keys.self)
    try container.encode(overview, forKey: .overview)
    var list = container.nestedUnkeyedContainer(forKey: .items)
    for item in items {
      var entry = list.nestedContainer(keyedBy: ItemKeys.self)
      try entry.encode(item.name, forKey: .name)
      try entry.encode(item.detail, forKey: .detail)
      if let map = item.map { try entry.encode(map.rows, forKey: .map) }
    }
  }

  /// `"map"`: rows as strings of 0/1 (`["0110", …]`) or as arrays of 0/1 (`[[0,1,1,0], …]`).
  private static func decodeRows(_ item: KeyedDecodingContainer<ItemKeys>, index: Int) throws -> BinaryMap {
    var rows: [[Bool]]
    if let strings = try? item.decode([String].self, forKey: .map) {
      rows = try strings.map { row in
        try row.map { ch -> Bool in
          switch ch {
          case "1", "#": return true
          case "0", ".": return false
          default: throw mapError(index, "row \"\(row)\" holds '\(ch)'; use 0 and 1")
          }
        }
      }
    } else if let numbers = try? item.decode([[Int]].self, forKey: .map) {
      rows = try numbers.map { row in
        try row.map { v -> Bool in
          guard v == 0 || v == 1 else { throw mapError(index, "cells must be 0 or 1, found \(v)") }
          return v == 1
        }
      }
    } else {
      throw mapError(index, "\"map\" must be rows of 0/1, as strings or arrays")
    }
    let height = rows.count
    let width = rows.first?.count ?? 0
    guard rows.allSatisfy({ $0.count == width }) else { throw mapError(index, "rows differ in length") }
    guard BinaryMap.sideRange.contains(width), BinaryMap.sideRange.contains(height) else {
      throw mapError(index, "grid \(width)x\(height) is outside \(BinaryMap.sideRange.lowerBound)...\(BinaryMap.sideRange.upperBound) per side")
    }
    return BinaryMap(width: width, height: height, cells: rows.flatMap { $0 })
  }

  /// `"grid"`: a side (`8`) or `[width, height]`; 8x8 when absent.
  private static func decodeGrid(_ item: KeyedDecodingContainer<ItemKeys>, index: Int) throws -> (Int, Int) {
    guard item.contains(.grid) else { return (8, 8) }
    let grid: (Int, Int)
    if let side = try? item.decode(Int.self, forKey: .grid) {
      grid = (side, side)
    } else if let pair = try? item.decode([Int].self, forKey: .grid), pair.count == 2 {
      grid = (pair[0], pair[1])
    } else {
      throw mapError(index, "\"grid\" must be a number or [width, height]")
    }
    guard BinaryMap.sideRange.contains(grid.0), BinaryMap.sideRange.contains(grid.1) else {
      throw mapError(index, "grid \(grid.0)x\(grid.1) is outside 8...16 per side")
    }
    return grid
  }

  /// A box `[x0, y0, x1, y1]` in relative coordinates (0...1) becomes the cells it covers at
  /// least half of; a box too small for that sets the cell holding its centre.
  static func rasterize(box: [Double], grid: (Int, Int), index: Int, path: [any CodingKey] = []) throws -> BinaryMap {
    guard box.count == 4 else { throw mapError(index, "\"box\" must be [x0, y0, x1, y1]") }
    let (x0, y0, x1, y1) = (box[0], box[1], box[2], box[3])
    guard box.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }), x0 < x1, y0 < y1 else {
      throw mapError(index, "\"box\" needs 0 ≤ x0 < x1 ≤ 1 and 0 ≤ y0 < y1 ≤ 1")
    }
    let (gw, gh) = grid
    var map = BinaryMap(width: gw, height: gh)
    for y in 0..<gh {
      for x in 0..<gw {
        let cx0 = Double(x) / Double(gw), cx1 = Double(x + 1) / Double(gw)
        let cy0 = Double(y) / Double(gh), cy1 = Double(y + 1) / Double(gh)
        let overlap = max(0, min(x1, cx1) - max(x0, cx0)) * max(0, min(y1, cy1) - max(y0, cy0))
        map[x, y] = overlap * Double(gw * gh) >= 0.5
      }
    }
    if map.isEmpty {
      let cx = min(gw - 1, Int((x0 + x1) / 2 * Double(gw)))
      let cy = min(gh - 1, Int((y0 + y1) / 2 * Double(gh)))
      map[cx, cy] = true
    }
    return map
  }

  private static func mapError(_ index: Int, _ reason: String) -> SemanticsError {
    SemanticsError(source: "item \(index + 1)", reason: reason)
  }

  /// The largest semantics file read (1 MiB): three items' texts and maps take a few KB.
  public static let maxFileBytes = 1 << 20

  /// Load a semantics JSON file (schema in the README).
  public static func load(path: String) throws -> Semantics {
    try read(path: path).semantics
  }

  /// Reads a semantics file, at most `maxFileBytes`, and says what in it is ignored: unknown
  /// keys. Syntax errors give the line and column; deep nesting is "nested too deeply".
  public static func read(path: String) throws -> (semantics: Semantics, warnings: [String]) {
    let bytes: [UInt8]
    do {
      bytes = try readFileBytes(path, maxBytes: maxFileBytes)
    } catch let ImageIOError.unreadable(_, reason) {
      throw SemanticsError(source: path, reason: "cannot read the file: \(reason)")
    }
    do {
      return try parse(bytes)
    } catch let error as SemanticsError {
      throw SemanticsError(source: path, reason: error.description)
    }
  }

  /// Parses semantics JSON; errors and warnings name the place (line and column, or the key).
  public static func parse(_ bytes: [UInt8]) throws -> (semantics: Semantics, warnings: [String]) {
    do {
      try JSONSyntax.check(bytes)
    } catch let failure as JSONSyntax.Failure {
      throw SemanticsError(source: "line \(failure.line), column \(failure.column)",
                           reason: failure.reason.hasPrefix("nested") ? failure.reason : "not valid JSON: \(failure.reason)")
    }
    let data = Data(bytes)
    do {
      let semantics = try JSONDecoder().decode(Semantics.self, from: data)
      try semantics.validate()
      return (semantics, unknownKeys(in: data))
    } catch let error as SemanticsError {
      throw error
    } catch let DecodingError.dataCorrupted(context) {
      throw SemanticsError(source: "JSON", reason: "not valid JSON: \(context.debugDescription)")
    } catch let DecodingError.typeMismatch(_, context) {
      throw SemanticsError(source: place(context.codingPath, in: bytes), reason: "wrong type at \(jsonPath(context.codingPath)): \(context.debugDescription)")
    } catch let DecodingError.valueNotFound(_, context) {
      throw SemanticsError(source: place(context.codingPath, in: bytes), reason: "missing value at \(jsonPath(context.codingPath)): \(context.debugDescription)")
    } catch {
      throw SemanticsError(source: "JSON", reason: "cannot be read as semantics: \(error.localizedDescription)")
    }
  }

  /// "line 3, column 15" for the value at `path`, else "JSON".
  private static func place(_ path: [any CodingKey], in bytes: [UInt8]) -> String {
    JSONSyntax.location(of: path, in: bytes).map { "line \($0.line), column \($0.column)" } ?? "JSON"
  }

  private static let knownKeys: Set<String> = ["overview", "items", "input"]
  private static let knownItemKeys: Set<String> = ["name", "detail", "map", "box", "grid"]

  /// "unknown key "overveiw" (did you mean "overview"?): ignored", for the top level and items.
  static func unknownKeys(in data: Data) -> [String] {
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
    func check(_ keys: some Sequence<String>, known: Set<String>, place: String) -> [String] {
      keys.sorted().filter { !known.contains($0) }.map { key in
        let guess = known.min { editDistance(key, $0) < editDistance(key, $1) }.flatMap { editDistance(key, $0) <= 2 ? $0 : nil }
        return "unknown key \"\(key)\"\(place)\(guess.map { " (did you mean \"\($0)\"?)" } ?? ""): ignored"
      }
    }
    var warnings = check(object.keys, known: knownKeys, place: "")
    for (index, item) in ((object["items"] as? [Any]) ?? []).enumerated() {
      if let item = item as? [String: Any] {
        warnings += check(item.keys, known: knownItemKeys, place: " in item \(index + 1)")
      }
    }
    return warnings
  }

  /// Texts longer than the paper asks for: names over 3 words, details over 10, an overview
  /// over `overviewWords`. They are coded as given, at a cost in bits.
  public func lengthWarnings(overviewWords: Int = Level.misc1.overviewWords) -> [String] {
    func words(_ text: String) -> Int { text.split(whereSeparator: \.isWhitespace).count }
    var warnings: [String] = []
    if words(overview) > overviewWords {
      warnings.append("the overview has \(words(overview)) words; the paper uses at most \(overviewWords)")
    }
    for (index, item) in items.enumerated() {
      if words(item.name) > 3 { warnings.append("item \(index + 1)'s name has \(words(item.name)) words; the paper uses at most 3") }
      if words(item.detail) > 10 { warnings.append("item \(index + 1)'s detail has \(words(item.detail)) words; the paper uses at most 10") }
    }
    return warnings
  }

  /// The JSON form, pretty-printed with sorted keys.
  public func jsonData() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(self)
  }

  /// The rules the container enforces, checked early with readable messages.
  public func validate() throws {
    guard items.count <= Container.maxItems else {
      throw SemanticsError(source: "items", reason: "\(items.count) items; MISC carries at most \(Container.maxItems)")
    }
    for text in [overview] + items.flatMap({ [$0.name, $0.detail] }) where text.utf8.count > TextCoder.maxBytes {
      throw SemanticsError(source: "text", reason: "a string of \(text.utf8.count) bytes is longer than \(TextCoder.maxBytes)")
    }
  }
}

/// Levenshtein distance, for "did you mean".
private func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a), b = Array(b)
  var row = Array(0...b.count)
  for i in 1...max(1, a.count) where !a.isEmpty {
    var previous = row[0]
    row[0] = i
    for j in stride(from: 1, through: b.count, by: 1) {
      let saved = row[j]
      row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
      previous = saved
    }
  }
  return a.isEmpty ? b.count : row[b.count]
}

private func jsonPath(_ path: [any CodingKey]) -> String {
  path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
}
