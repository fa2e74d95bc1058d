import Foundation
import MISCCoding

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

  /// Load a semantics JSON file (schema in the README).
  public static func load(path: String) throws -> Semantics {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw SemanticsError(source: path, reason: "cannot read the file")
    }
    do {
      let semantics = try JSONDecoder().decode(Semantics.self, from: data)
      try semantics.validate()
      return semantics
    } catch let error as SemanticsError {
      throw SemanticsError(source: path, reason: error.description)
    } catch let DecodingError.dataCorrupted(context) {
      throw SemanticsError(source: path, reason: "not valid JSON: \(context.debugDescription)")
    } catch let DecodingError.typeMismatch(_, context) {
      throw SemanticsError(source: path, reason: "wrong type at \(jsonPath(context.codingPath)): \(context.debugDescription)")
    } catch {
      throw SemanticsError(source: path, reason: "\(error)")
    }
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

private func jsonPath(_ path: [any CodingKey]) -> String {
  path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
}
