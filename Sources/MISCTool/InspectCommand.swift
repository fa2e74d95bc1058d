import ArgumentParser
import Foundation
import MISC
import MISCCoding
import MISCImage

struct Inspect: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show what a .misc file holds: per-layer bits, the semantics and the maps."
  )

  @Argument(help: "The .misc file to inspect.")
  var input: String

  @Flag(help: "Print JSON instead of text.")
  var json = false

  func run() async throws {
    let bytes = try readFileBytes(input, maxBytes: Container.maxFileBytes)
    let file: Container.Decoded
    do {
      file = try Container.decode(bytes)
    } catch {
      throw CLIError("\(input): \(Console.describe(error))")
    }
    let c = file.contents
    let texts = [c.overview] + c.items.flatMap { [$0.name, $0.detail] }
    let report = LayerReport(fileBytes: bytes.count, width: c.width, height: c.height, layers: file.layers, words: wordCount(texts))
    let semantics = Semantics(overview: c.overview, items: c.items)
    if json {
      let record = InspectRecord(
        file: input, version: file.version, width: c.width, height: c.height, level: c.level, seed: file.seed,
        thumbnail: c.thumbnail.map { [$0.width, $0.height] }, report: report, semantics: semantics)
      Console.out(JSONLine.encode(record, pretty: true))
      return
    }
    Console.out("\(input): .misc v\(file.version), \(c.width)x\(c.height), \(c.level == 0 ? "custom rate" : "MISC-\(c.level)"), seed \(file.seed)")
    Console.out("thumbnail: " + (c.thumbnail.map { "\($0.width)x\($0.height)" } ?? "none"))
    Console.out("layers:")
    for line in report.lines { Console.out(line) }
    Console.out("overview: " + (c.overview.isEmpty ? "(none)" : c.overview))
    for (index, item) in c.items.enumerated() {
      Console.out("item \(index + 1): \(item.name): \(item.detail)")
      if let map = item.map {
        for row in map.drawn() { Console.out("    " + row) }
      }
    }
  }
}

struct InspectRecord: Codable {
  var file: String
  var version: Int
  var width: Int
  var height: Int
  var level: Int
  var seed: UInt32
  var thumbnail: [Int]?
  var report: LayerReport
  var semantics: Semantics
}
