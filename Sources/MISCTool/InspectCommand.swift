import ArgumentParser
import Foundation
import MISC
import MISCCoding
import MISCImage

struct Inspect: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show what .misc files hold: per-layer bits, the semantics and the maps."
  )

  @Argument(help: "The .misc files to inspect; - reads standard input.")
  var inputs: [String]

  @Flag(help: "Print JSON instead of text (one pretty object for one file, one object a line for several).")
  var json = false

  @OptionGroup(title: "Limits")
  var limits: ReadLimits

  func validate() throws {
    try validateStreams(inputs: inputs, outDir: nil, keepTree: false)
  }

  func run() async throws {
    var failed = 0
    for (index, input) in inputs.enumerated() {
      do {
        if index > 0 && !json { Console.out("") }
        try inspect(input)
      } catch {
        Console.error(Console.describe(error))
        failed += 1
      }
    }
    if failed > 0 { throw ExitCode(1) }
  }

  private func inspect(_ input: String) throws {
    let bytes = try readInput(input, maxBytes: Container.maxFileBytes)
    let file = try limits.decode(bytes, name: input)
    let c = file.contents
    let texts = [c.overview] + c.items.flatMap { [$0.name, $0.detail] }
    let report = LayerReport(fileBytes: bytes.count, width: c.width, height: c.height, layers: file.layers, texts: texts)
    let semantics = Semantics(overview: c.overview, items: c.items)
    if json {
      let record = InspectRecord(
        file: input, version: file.version, width: c.width, height: c.height, level: c.level, seed: file.seed,
        thumbnail: c.thumbnail.map { [$0.width, $0.height] }, report: report, semantics: semantics)
      Console.out(JSONLine.encode(record, pretty: inputs.count == 1))
      return
    }
    // The file's texts are escaped newlines and all: a file cannot draw on the terminal.
    Console.out("\(input): .misc v\(file.version), \(c.width)x\(c.height), \(c.level == 0 ? "custom rate" : "MISC-\(c.level)"), seed \(file.seed)")
    Console.out("thumbnail: " + (c.thumbnail.map { "\($0.width)x\($0.height)" } ?? "none"))
    Console.out("layers:")
    for line in report.lines { Console.out(line) }
    Console.out("overview: " + (c.overview.isEmpty ? "(none)" : Console.escaped(c.overview)))
    for (index, item) in c.items.enumerated() {
      Console.out("item \(index + 1): \(Console.escaped(item.name)): \(Console.escaped(item.detail))")
      if let map = item.map {
        for row in map.drawn() { Console.out("    " + row) }
      }
    }
  }
}

/// The limits a reader of .misc files applies before allocating: pixels, and the rate below
/// which a file is taken for a decompression bomb.
struct ReadLimits: ParsableArguments {
  @Option(name: .customLong("max-pixels"), help: "Refuse files whose image is larger than this.")
  var maxPixels: Int = Container.defaultMaxPixels

  @Option(name: .customLong("min-bpp"), help: ArgumentHelp(
    "Refuse files above \(Container.rateCheckFreePixels / 1_000_000) MP that carry fewer bits a pixel than this (decompression bombs); 0 turns the check off.",
    discussion: "The encoder never writes below 0.001 bpp. See docs/FORMAT.md."))
  var minBitsPerPixel: Double = Container.defaultMinBitsPerPixel

  func validate() throws {
    if maxPixels < 1 { throw ValidationError("--max-pixels must be positive") }
    if !(minBitsPerPixel >= 0 && minBitsPerPixel <= 1) { throw ValidationError("--min-bpp must be within 0...1 (got \(minBitsPerPixel))") }
  }

  /// `Container.decode` under these limits; errors name the input and the flag that lifts them.
  func decode(_ bytes: [UInt8], name: String) throws -> Container.Decoded {
    do {
      return try Container.decode(bytes, maxPixels: maxPixels, minBitsPerPixel: minBitsPerPixel)
    } catch {
      throw CLIError("\(name): " + Self.explain(error))
    }
  }

  /// `decoder` under these limits.
  func apply(to decoder: MISCDecoder) -> MISCDecoder {
    var decoder = decoder
    decoder.maxPixels = maxPixels
    decoder.minBitsPerPixel = minBitsPerPixel
    return decoder
  }

  /// A container error with the flag that lifts its limit, when there is one.
  static func explain(_ error: any Error) -> String {
    switch error as? ContainerError {
    case .rateTooLow?: return Console.describe(error) + " (give --min-bpp 0 to read it anyway)"
    case .imageTooLarge?: return Console.describe(error) + " (--max-pixels raises it)"
    default: return Console.describe(error)
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
