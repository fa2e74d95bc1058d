import ArgumentParser
import Foundation
import MISC
import MISCCoding
import MISCImage

struct Encode: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compress images into .misc files.",
    discussion: """
      The semantics come from --semantics, else from the LMM when one is configured (--lmm-model \
      or MISC_LMM_MODEL; see `misc describe` and docs/LMM.md); with neither, the file carries \
      the thumbnail only. The rate is MISC-1 (0.0225 bpp) unless --level or --bpp says \
      otherwise; the file never exceeds it.
      """
  )

  @Argument(help: "Images to encode (PNG or JPEG); - reads standard input.")
  var inputs: [String]

  @Option(name: .shortAndLong, help: "Output file (only with a single input); - writes standard output.")
  var output: String?

  @Option(name: .customLong("out-dir"), help: "Directory for the outputs, named <input>.misc (default: beside each input).")
  var outDir: String?

  @Option(help: "Preset level: 1 (0.0225 bpp), 2 (0.03 bpp), 3 (0.047 bpp, no items or maps).")
  var level: Int?

  @Option(help: "Target bits per pixel of the whole file, e.g. 0.02 (instead of --level).")
  var bpp: Double?

  @Option(help: "Semantics JSON (schema in the README); a directory holds <input>.json per input.")
  var semantics: String?

  @Option(name: .customLong("max-pixels"), help: "Refuse larger images before decoding them.")
  var maxPixels: Int = ImageIO.defaultMaxPixels

  @Flag(help: "Print one JSON object per file on stdout instead of the text report.")
  var json = false

  @Flag(help: "Make every semantics warning an error (unknown keys, a missing file in a --semantics folder, items a level drops, texts over the paper's word limits or over half the budget).")
  var strict = false

  @OptionGroup(title: "Outputs")
  var outputs: OutputOptions

  @OptionGroup(title: "General")
  var general: GeneralOptions

  @OptionGroup(title: "LMM (describes the images when no --semantics is given)")
  var lmm: LMMOptions

  @OptionGroup(title: "CLIP (locates the items that have no map)")
  var clip: CLIPOptions

  func validate() throws {
    if output != nil && inputs.count > 1 { throw ValidationError("-o/--output takes a single input; use --out-dir for several") }
    if output != nil && outDir != nil { throw ValidationError("give -o/--output or --out-dir, not both") }
    if level != nil && bpp != nil { throw ValidationError("give --level or --bpp, not both") }
    if let level, Level(rawValue: level) == nil { throw ValidationError("--level must be 1, 2 or 3 (got \(level))") }
    if let bpp, !RateTarget.bitsPerPixelRange.contains(bpp) {
      throw ValidationError("--bpp must be within \(RateTarget.bitsPerPixelRange.lowerBound)...\(RateTarget.bitsPerPixelRange.upperBound) (got \(bpp))")
    }
    if maxPixels < 1 { throw ValidationError("--max-pixels must be positive") }
    try validateStreams(inputs: inputs, outDir: outDir, keepTree: outputs.keepTree)
  }

  var target: RateTarget {
    if let bpp { return .bitsPerPixel(bpp) }
    return .level(Level(rawValue: level ?? 1)!)
  }

  func run() async throws {
    general.apply()
    if output == OutputPath.standardStream { Console.resultsToStandardError = true }
    try OutputPath.checkDirectory(outDir)
    let work = try OutputPath.plan(inputs: inputs, explicit: output, directory: outDir, options: outputs) { _ in ".misc" }
    // --semantics wins; otherwise a configured LMM describes each image (its failure fails that image).
    let words = (level.flatMap(Level.init(rawValue:)) ?? .misc1).overviewWords
    let describer = semantics == nil ? try lmm.describer(overviewWords: words) : nil
    let encoder = MISCEncoder(configuration: EncoderConfiguration(target: target), describer: describer,
                              locator: try clip.makeLocator())
    if semantics == nil && describer == nil && !json {
      Console.note("note: no --semantics and no LMM configured: encoding the thumbnail only; to describe images, \(LMMOptions.howTo)")
    }
    let command = self
    do {
      try await Batch(verb: "encoding", work: work, jobs: general.jobs).run { job in
        let input = job.input
        let bytes = try readInput(input, maxBytes: ImageIO.maxFileBytes(maxPixels: command.maxPixels))
        let loaded = try ImageIO.decode(bytes, name: input, maxPixels: command.maxPixels)
        for notice in loaded.notices { Console.note("note: \(notice)") }
        var (given, warnings) = try command.semanticsFor(input)
        if let given, !command.target.keepsItems, !given.items.isEmpty {
          warnings.append("level 3 keeps no items: the \(given.items.count) \(given.items.count == 1 ? "item" : "items") given are dropped")
        }
        try command.warn(warnings, input: input)
        let result = try await encoder.encode(loaded.image, semantics: given)
        let textBits = result.layers.overview + result.layers.names + result.layers.details
        if textBits > Double(result.budgetBytes * 8) / 2 {
          try command.warn(["the texts take \(Int(textBits.rounded(.up))) bits, more than half of the \(result.budgetBytes * 8)-bit budget, leaving the thumbnail little"], input: input)
        }
        try job.write(result.bytes, force: command.outputs.force)
        command.report(result, input: input, output: job.output, image: loaded.image)
        return Tally(bytesIn: bytes.count, bytesOut: result.bytes.count, pixels: loaded.image.pixelCount,
                     referencePSNR: result.referencePSNR)
      }
    } catch let error as ExitCodeError {
      throw ExitCode(error.code)
    }
  }

  /// The semantics given for `input` (the file, or <stem>.json in the folder) and what is
  /// wrong with them short of an error.
  private func semanticsFor(_ input: String) throws -> (Semantics?, [String]) {
    guard let semantics else { return (nil, []) }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: semantics, isDirectory: &isDirectory) else {
      throw CLIError("\(semantics): no such semantics file")
    }
    var path = semantics
    if isDirectory.boolValue {
      let stem = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent
      path = URL(fileURLWithPath: semantics).appendingPathComponent(stem + ".json").path
      guard FileManager.default.fileExists(atPath: path) else {
        return (nil, ["no \(stem).json in the semantics folder \(semantics): encoded without semantics"])
      }
    }
    let (loaded, warnings) = try Semantics.read(path: path)
    let words = (level.flatMap(Level.init(rawValue:)) ?? .misc1).overviewWords
    return (loaded, (warnings + loaded.lengthWarnings(overviewWords: words)).map { "\(path): \($0)" })
  }

  /// Prints each warning, or fails the input with all of them under --strict.
  private func warn(_ warnings: [String], input: String) throws {
    guard !warnings.isEmpty else { return }
    if strict { throw CLIError("\(input): " + warnings.joined(separator: "; ") + " (--strict)") }
    for warning in warnings { Console.note("warning: \(input): \(warning)") }
  }

  private func report(_ result: EncodeResult, input: String, output: String, image: Image) {
    for notice in result.notices { Console.note("note: \(input): \(notice)") }
    let texts = [result.semantics.overview] + result.semantics.items.flatMap { [$0.name, $0.detail] }
    let layers = LayerReport(fileBytes: result.bytes.count, width: image.width, height: image.height,
                             layers: result.layers, texts: texts)
    let thumbnail = result.thumbnailSize.map { "\($0.width)x\($0.height) q\(result.thumbnailQuality ?? 0)" } ?? "none"
    if json {
      let record = EncodeRecord(input: input, output: output, width: image.width, height: image.height,
                                budgetBytes: result.budgetBytes, thumbnail: thumbnail,
                                referencePSNR: result.referencePSNR, report: layers)
      Console.out(JSONLine.encode(record))
      return
    }
    Console.out("\(input) -> \(output): \(result.bytes.count) B, \(format(layers.bitsPerPixel, 4)) bpp (budget \(result.budgetBytes) B); thumbnail \(thumbnail), I_ref PSNR \(format(result.referencePSNR, 2)) dB")
    for line in layers.lines { Console.out(line) }
  }
}

struct EncodeRecord: Codable {
  var input: String
  var output: String
  var width: Int
  var height: Int
  var budgetBytes: Int
  var thumbnail: String
  var referencePSNR: Double
  var report: LayerReport
}

/// Compact JSON with sorted keys, one object per line.
enum JSONLine {
  static func encode<T: Encodable>(_ value: T, pretty: Bool = false) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(value) else { return "{}" }
    // JSONEncoder leaves DEL and the C1 controls raw; terminals act on C1, so escape them too.
    var text = String.UnicodeScalarView()
    for scalar in String(decoding: data, as: UTF8.self).unicodeScalars {
      if (0x7F...0x9F).contains(scalar.value) {
        text.append(contentsOf: "\\u00\(String(scalar.value, radix: 16))".unicodeScalars)
      } else {
        text.append(scalar)
      }
    }
    return String(text)
  }
}
