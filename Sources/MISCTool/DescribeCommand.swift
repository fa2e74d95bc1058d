import ArgumentParser
import Foundation
import MISC
import MISCImage

struct Describe: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Describe images with an LMM: an overview and up to three named items.",
    discussion: """
      Asks any OpenAI-compatible vision model (OpenAI, vLLM, Ollama's /v1, llama.cpp server, \
      LM Studio) for the paper's semantics and repairs the answer to MISC's limits. Results are \
      cached, so encoding the same image again makes no request. Text output by default; with \
      --json, one JSON object per image per line: the semantics (overview, items) plus "input". \
      With --out-dir, each image's semantics are also written to <input>.json there, ready for \
      `misc encode --semantics DIR`. See docs/LMM.md.
      """
  )

  @Argument(help: "Images to describe (PNG or JPEG).")
  var inputs: [String]

  @OptionGroup(title: "LMM")
  var lmm: LMMOptions

  @Option(help: "Level whose overview word budget applies: 1, 2 or 3.")
  var level: Int = 1

  @Option(name: .customLong("out-dir"), help: "Also write each image's semantics to <input>.json in this directory.")
  var outDir: String?

  @Option(name: .customLong("max-pixels"), help: "Refuse larger images before decoding them.")
  var maxPixels: Int = ImageIO.defaultMaxPixels

  @Flag(help: "Print one JSON object per image and line (the semantics plus \"input\") instead of text.")
  var json = false

  @OptionGroup(title: "Outputs (with --out-dir)")
  var outputs: OutputOptions

  @OptionGroup(title: "General")
  var general: GeneralOptions

  func validate() throws {
    guard Level(rawValue: level) != nil else { throw ValidationError("--level must be 1, 2 or 3 (got \(level))") }
    if maxPixels < 1 { throw ValidationError("--max-pixels must be positive") }
    if lmm.configuration(overviewWords: 50) == nil {
      throw ValidationError("misc describe needs an LMM: \(LMMOptions.howTo)")
    }
  }

  func run() async throws {
    general.apply()
    try OutputPath.checkDirectory(outDir)
    let work = outDir == nil ? (outputs.shard.map { $0.select(inputs) } ?? inputs).map { OutputJob(input: $0, output: "") }
      : try OutputPath.plan(inputs: inputs, explicit: nil, directory: outDir, options: outputs) { _ in ".json" }
    guard let describer = try lmm.describer(overviewWords: Level(rawValue: level)!.overviewWords) else {
      throw CLIError("no LMM configured: \(LMMOptions.howTo)")
    }
    let (json, outDir, maxPixels, force) = (json, outDir, maxPixels, outputs.force)
    do {
      try await Batch(verb: "describing", work: work, jobs: general.jobs).run { job -> Tally? in
        let input = job.input
        let loaded = try ImageIO.read(path: input, maxPixels: maxPixels)
        for notice in loaded.notices { Console.note("note: \(notice)") }
        let semantics = try await describer.describe(loaded.image)
        if outDir != nil { try job.write(Array(try semantics.jsonData()), force: force) }
        if json {
          Console.out(JSONLine.encode(DescribeRecord(input: input, semantics: semantics)))
        } else {
          var lines = ["\(input):", "  overview: " + (semantics.overview.isEmpty ? "(none)" : Console.escaped(semantics.overview))]
          for (index, item) in semantics.items.enumerated() { lines.append("  item \(index + 1): \(Console.escaped(item.name)): \(Console.escaped(item.detail))") }
          Console.out(lines.joined(separator: "\n"))
        }
        return nil
      }
    } catch let error as ExitCodeError {
      throw ExitCode(error.code)
    }
  }
}

/// One line of `misc describe --json`: the semantics file's fields plus the input path, so a
/// line is itself a valid semantics file.
struct DescribeRecord: Encodable {
  var input: String
  var semantics: Semantics

  private enum Keys: String, CodingKey { case input }

  func encode(to encoder: any Encoder) throws {
    try semantics.encode(to: encoder)
    var container = encoder.container(keyedBy: Keys.self)
    try container.encode(input, forKey: .input)
  }
}
