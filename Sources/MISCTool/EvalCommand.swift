import ArgumentParser
import Foundation
import MISC
import MISCBench
import MISCMetrics

/// `misc eval`: the paper's Table III in one run.
struct Eval: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run every codec at matched rates on datasets, score them with every metric, and write tables, plots and report.html.",
    discussion: """
      One JSON line per (dataset, image, codec, rate) goes to DIR/records.jsonl as it finishes; a \
      rerun skips the finished ones (--fresh starts over). MISC levels run at their own rates \
      (0.0225, 0.03, 0.047 bpp), `misc` at each --bpp. Each reference codec runs at each --bpp \
      twice: at full size (the best setting whose file fits the target) and downscaled (NAME-down: \
      1/2, 1/4 or 1/8 size, upsampled bicubically, best PSNR per image). A codec that cannot reach \
      the target runs at its smallest setting and its real bpp is shown. Writes DIR/<dataset>/table.{md,csv,json}, \
      DIR/<dataset>/<metric>.svg and DIR/report.html. See docs/EVALUATION.md.
      """
  )

  @Option(name: .customLong("dataset"), help: ArgumentHelp("A folder of PNG or JPEG images, as NAME=DIR or DIR (named after the folder); repeatable.", valueName: "NAME=DIR"))
  var datasets: [String]

  @Option(name: .customLong("codec"), help: "Comma-separated codecs: misc, misc1, misc2, misc3, jpeg, webp, avif, jxl, heic (NAME-down: the downscaled mode alone).")
  var codecs = "misc1,misc2,misc3,jpeg,webp,avif,jxl,heic"

  @Option(help: "The reference codecs' modes: both, full or downscaled.")
  var mode = "both"

  @Option(help: "Comma-separated target rates in bits per pixel.")
  var bpp = "0.02,0.05"

  @Option(help: "Comma-separated metrics: \(MetricID.allCases.map(\.rawValue).joined(separator: ", ")).")
  var metrics = "psnr"

  @Option(name: .customLong("metric-models"), help: "The metrics' weight folder (default: $MISC_METRIC_MODELS).", completion: .directory)
  var metricModels: String?

  @Option(name: .customLong("out"), help: "The output folder.", completion: .directory)
  var out = "eval"

  @Flag(help: "Discard the records of an earlier run in --out instead of resuming it.")
  var fresh = false

  @Option(help: "Semantics folder for MISC: <image>.json per image (images without one use the LMM when configured, else the thumbnail only).", completion: .directory)
  var semantics: String?

  @Option(name: .customLong("external"), help: ArgumentHelp(
    "Another codec, as NAME='ENCODE;DECODE': shell commands with {input} (PNG), {bitstream}, {output} (PNG), and optionally {bpp} and {bytes}; repeatable.",
    valueName: "NAME=ENCODE;DECODE"))
  var externals: [String] = []

  @Option(name: .customLong("report-images"), help: "Images per dataset whose crops report.html shows.")
  var reportImages = 6

  @OptionGroup(title: "Restorer (MISC's decode)")
  var restorerOptions: RestorerOptions

  @OptionGroup(title: "General")
  var general: GeneralOptions

  @OptionGroup(title: "LMM (describes images without semantics)")
  var lmm: LMMOptions

  @OptionGroup(title: "CLIP (locates the items that have no map; also ClipSIM's model)")
  var clip: CLIPOptions

  func validate() throws {
    _ = try parsedDatasets()
    _ = try parsedCodecs()
    let rates = try parsedRates()
    if rates.isEmpty { throw ValidationError("--bpp needs at least one rate") }
    _ = try parsedMetrics()
    if reportImages < 0 { throw ValidationError("--report-images must be 0 or more") }
    if let semantics {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: semantics, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw ValidationError("--semantics \(semantics) is not a directory (it holds <image>.json per image)")
      }
    }
  }

  func parsedDatasets() throws -> [EvalDataset] {
    var result: [EvalDataset] = []
    for text in datasets {
      let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
      let (name, directory) = parts.count == 2 ? (parts[0], parts[1]) : (URL(fileURLWithPath: text).lastPathComponent, text)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw ValidationError("--dataset \(text): \(directory) is not a directory")
      }
      guard !name.isEmpty, !name.contains("/"), !result.contains(where: { $0.name == name }) else {
        throw ValidationError("--dataset \(text): the name must be non-empty, without '/', and unique")
      }
      result.append(EvalDataset(name: name, directory: directory))
    }
    return result
  }

  func parsedCodecs() throws -> [EvalCodec] {
    let modes: Set<Bool>
    switch mode {
    case "both": modes = [false, true]
    case "full": modes = [false]
    case "downscaled": modes = [true]
    default: throw ValidationError("--mode must be both, full or downscaled (got \(mode))")
    }
    do {
      let external = try externals.map(EvalCodec.parseExternal)
      return try EvalCodec.parse(codecs, modes: modes, external: external)
    } catch let error as BenchError {
      throw ValidationError(error.description)
    }
  }

  func parsedRates() throws -> [Double] {
    try bpp.split(separator: ",").map { part in
      guard let rate = Double(part.trimmingCharacters(in: .whitespaces)), RateTarget.bitsPerPixelRange.contains(rate) else {
        throw ValidationError("--bpp: each rate must be a number within \(RateTarget.bitsPerPixelRange) (got '\(part)')")
      }
      return rate
    }
  }

  func parsedMetrics() throws -> [MetricID] {
    do { return try MetricID.parseList(metrics) } catch { throw ValidationError("--metrics: \(error)") }
  }

  func run() async throws {
    var configuration = Evaluation.Configuration(datasets: try parsedDatasets(), codecs: try parsedCodecs(), output: out)
    configuration.bitsPerPixel = try parsedRates()
    configuration.metrics = try parsedMetrics()
    configuration.models = MetricModels.resolve(directory: metricModels, clipModel: clip.directory)
    general.apply()
    configuration.jobs = general.jobs
    configuration.fresh = fresh
    // Every metric and its weights first, before the restorer, the LMM or any image.
    let metricObjects: [any QualityMetric]
    do {
      metricObjects = try MetricRegistry.make(configuration.metrics, models: configuration.models)
    } catch {
      throw CLIError("--metrics: \(error)")
    }
    let usesMISC = configuration.codecs.contains { if case .misc = $0 { true } else { false } }
    var setup = MISCSetup(semanticsDirectory: semantics)
    if usesMISC {
      setup.restorer = try await restorerOptions.restorer()
      setup.describer = try lmm.describer(overviewWords: Level.misc1.overviewWords)
      setup.locator = try clip.makeLocator()
      Console.note("note: MISC decodes with the restorer: \(setup.restorer.name)")
      if semantics == nil && setup.describer == nil {
        Console.note("note: no --semantics and no LMM configured: MISC codes the thumbnail only")
      }
    }
    let terminal = isatty(STDERR_FILENO) != 0
    let evaluation = Evaluation(configuration: configuration, setup: setup)
    let records = try await evaluation.run(metrics: metricObjects) { progress in
      guard progress.done > 0 || progress.total == 0 else { return }
      let eta = progress.eta.map { " ETA " + Self.duration($0) } ?? ""
      let line = "[\(progress.done)/\(progress.total)]\(eta) \(progress.last)"
      if terminal {
        Console.progress("eval " + line)
      } else if progress.done == progress.total || progress.done % 50 == 0 {
        Console.note("eval " + line)
      }
    }
    if terminal { Console.progress(nil) }
    let written = try EvalReport.write(records, configuration: configuration, reportImages: reportImages,
                                       command: CommandLine.arguments.joined(separator: " "))
    for table in written.tables {
      Console.out("## \(table.dataset)\n")
      Console.out(table.markdown)
    }
    let failures = records.filter { $0.error != nil }
    if !failures.isEmpty {
      Console.note("\(failures.count) of \(records.count) records failed:")
      for record in failures.prefix(20) {
        Console.note("  \(record.dataset)/\(record.image) \(record.codec) @\(record.rate): \(record.error ?? "")")
      }
      if failures.count > 20 { Console.note("  … and \(failures.count - 20) more (see records.jsonl)") }
    }
    let unscored = records.filter { !($0.metricErrors ?? [:]).isEmpty }
    if !unscored.isEmpty {
      Console.note("\(unscored.count) of \(records.count) records lack a metric (their table cells stay empty):")
      for record in unscored.prefix(20) {
        let why = (record.metricErrors ?? [:]).sorted { $0.key < $1.key }.map(\.value).joined(separator: "; ")
        Console.note("  \(record.dataset)/\(record.image) \(record.codec) @\(record.rate): \(why)")
      }
      if unscored.count > 20 { Console.note("  … and \(unscored.count - 20) more (see records.jsonl)") }
    }
    Console.note("wrote \(written.report) and the tables and plots under \(out)/")
  }

  static func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
  }
}
