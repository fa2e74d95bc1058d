import ArgumentParser
import Foundation
import MISC
import MISCCoding
import MISCImage

struct Decode: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Rebuild images from .misc files.",
    discussion: """
      The decode runs the paper's schedule through a restorer: one short guided diffusion pass \
      per item, kept under the item's map (eq. 7), then a long pass guided by the overview and \
      the aesthetic words (eq. 8). With --restorer (or MISC_RESTORER_URL) the passes run on a \
      diffusion worker (worker/, docs/WORKER.md); without one, the embedded bicubic restorer \
      returns the upsampled thumbnail. Decodes are deterministic: every pass's seed derives \
      from the file's seed.
      """
  )

  @Argument(help: "The .misc files to decode; - reads standard input.")
  var inputs: [String]

  @Option(name: .shortAndLong, help: "Output image, .png or .jpg (only with a single input); - writes a PNG to standard output.")
  var output: String?

  @Option(name: .customLong("jpeg-quality"), help: "Quality, 1...100, of a .jpg output.")
  var jpegQuality = 90

  @Flag(help: "Print one JSON object per file on stdout instead of the text report.")
  var json = false

  @Option(name: .customLong("out-dir"), help: "Directory for the outputs, named <input>.png (default: <input>.decoded.png beside each input).")
  var outDir: String?

  @Option(help: "Override the seed derived from the file (0...4294967295).")
  var seed: UInt32?

  @OptionGroup(title: "Limits")
  var limits: ReadLimits

  var maxPixels: Int { limits.maxPixels }

  @OptionGroup(title: "Outputs")
  var outputs: OutputOptions

  @OptionGroup(title: "General")
  var general: GeneralOptions

  @OptionGroup(title: "Restorer")
  var restorerOptions: RestorerOptions

  @OptionGroup(title: "Decode schedule (the paper's constants by default)")
  var scheduleOptions: ScheduleOptions

  func validate() throws {
    if output != nil && inputs.count > 1 { throw ValidationError("-o/--output takes a single input; use --out-dir for several") }
    if output != nil && outDir != nil { throw ValidationError("give -o/--output or --out-dir, not both") }
    if !(1...100).contains(jpegQuality) { throw ValidationError("--jpeg-quality must be within 1...100 (got \(jpegQuality))") }
    if let output, output != OutputPath.standardStream, DecodedFormat(path: output) == nil {
      throw ValidationError("-o/--output \(output): unknown image extension; give .png, .jpg or .jpeg")
    }
    try validateStreams(inputs: inputs, outDir: outDir, keepTree: outputs.keepTree)
  }

  func run() async throws {
    general.apply()
    if output == OutputPath.standardStream { Console.resultsToStandardError = true }
    try OutputPath.checkDirectory(outDir)
    let work = try OutputPath.plan(inputs: inputs, explicit: output, directory: outDir, options: outputs) { [outDir] _ in
      outDir == nil ? ".decoded.png" : ".png"
    }
    let restorer = try await restorerOptions.restorer()
    let diffusion = !(restorer is BicubicRestorer)
    var schedule = scheduleOptions.schedule
    if scheduleOptions.strength == nil, let worker = restorer as? DiffusionServerRestorer {
      schedule.strength = worker.defaultStrength  // 0.5 for img2img, 1.0 for diffbir and controlnet
      for (flag, steps) in [("--item-steps", schedule.itemSteps), ("--final-steps", schedule.finalSteps)]
      where Double(steps) * schedule.strength < 1 {
        throw CLIError("\(flag) x the worker's default strength \(schedule.strength) is under 1 step; raise \(flag) or set --strength")
      }
    }
    let decoder = MISCDecoder(restorer: restorer, schedule: schedule, maxPixels: maxPixels)
    Console.note("note: restorer: \(decoder.restorer.name)")
    let bounded = limits.apply(to: decoder)
    let several = inputs.count > 1
    let command = self
    defer {
      // What the faults cost: every retry of a pass (connection lost, 5xx, a busy worker).
      if let worker = restorer as? DiffusionServerRestorer, worker.retries.value > 0 {
        let count = worker.retries.value
        Console.note("note: restorer: \(count) \(count == 1 ? "retry" : "retries") (connection errors, 5xx or busy answers)")
      }
    }
    do {
      try await Batch(verb: "decoding", work: work, jobs: general.jobs).run { job in
        let input = job.input
        let bytes = try readInput(input, maxBytes: Container.maxFileBytes)
        let start = Date()
        let prefix = several ? "\(input): " : ""
        let progress: DecodeProgress = { index, count, pass in
          Console.note(prefix + Self.progressLine(index: index, count: count, pass: pass))
          return true
        }
        let result: Reconstruction
        do {
          result = try await bounded.decode(bytes, seed: command.seed, progress: diffusion ? progress : nil)
        } catch let error as ContainerError {
          throw CLIError("\(input): " + ReadLimits.explain(error))
        }
        let format = DecodedFormat(path: job.output) ?? .png
        let encoded = format == .jpeg ? try ImageIO.encodeJPEG(result.image, quality: command.jpegQuality) : try ImageIO.encodePNG(result.image)
        try job.write(encoded, force: command.outputs.force)
        let seconds = Date().timeIntervalSince(start)
        if command.json {
          Console.out(JSONLine.encode(DecodeRecord(input: input, output: job.output, width: result.image.width, height: result.image.height,
                                                   seed: result.seed, passes: result.passes.count, restorer: decoder.restorer.name,
                                                   bytes: encoded.count, seconds: seconds)))
        } else {
          let time = diffusion ? String(format: " in %.1f s", seconds) : ""
          Console.out("\(input) -> \(job.output): \(result.image.width)x\(result.image.height), seed \(result.seed), \(result.passes.count) \(result.passes.count == 1 ? "pass" : "passes")\(time)")
        }
        return Tally(bytesIn: bytes.count, bytesOut: encoded.count)
      }
    } catch let error as ExitCodeError {
      throw ExitCode(error.code)
    }
  }

  /// "pass 2/4: item 2 'red bicycle leaning on…' 3 steps": items are numbered as in the file.
  static func progressLine(index: Int, count: Int, pass: RestorePass) -> String {
    let what: String
    switch pass.kind {
    case let .item(item): what = "item \(item + 1)"
    case .final: what = "final"
    }
    let text = Console.escaped(pass.prompt)
    let prompt = text.count > 28 ? text.prefix(28).trimmingCharacters(in: .whitespaces) + "…" : text
    return "pass \(index + 1)/\(count): \(what) '\(prompt)' \(pass.steps) steps"
  }
}

/// The image format a decode writes, chosen by the output's extension.
enum DecodedFormat {
  case png, jpeg

  init?(path: String) {
    switch URL(fileURLWithPath: path).pathExtension.lowercased() {
    case "png": self = .png
    case "jpg", "jpeg": self = .jpeg
    default: return nil
    }
  }
}

/// One line of `misc decode --json`.
struct DecodeRecord: Codable {
  var input: String
  var output: String
  var width: Int
  var height: Int
  var seed: UInt32
  var passes: Int
  var restorer: String
  var bytes: Int
  var seconds: Double
}

/// Which restorer runs the passes: a diffusion worker (flag, then `MISC_RESTORER_URL`), else
/// the embedded bicubic one. A configured worker that does not answer is an error.
struct RestorerOptions: ParsableArguments {
  @Option(name: .customLong("restorer"), help: ArgumentHelp(
    "Base URL of a diffusion worker, e.g. http://127.0.0.1:7860 (default: $MISC_RESTORER_URL).",
    discussion: "Without one, the embedded bicubic restorer is used (no diffusion model)."))
  var url: String?

  @Option(name: .customLong("restorer-timeout"), help: "Seconds one pass may take on the worker.")
  var timeout: Double = DiffusionServerRestorer.Configuration().timeout

  @Option(name: .customLong("restorer-attempts"), help: "Attempts per pass on connection errors and 5xx answers.")
  var attempts: Int = DiffusionServerRestorer.Configuration().maxAttempts

  func validate() throws {
    if !(timeout > 0 && timeout <= 86_400) { throw ValidationError("--restorer-timeout must be within 0...86400 seconds (got \(timeout))") }
    if attempts < 1 || attempts > 20 { throw ValidationError("--restorer-attempts must be within 1...20 (got \(attempts))") }
    if let url { _ = try parse(url, source: "--restorer") }
  }

  /// The configured worker, health-checked; or the bicubic restorer when none is configured.
  func restorer() async throws -> any Restorer {
    let environment = ProcessInfo.processInfo.environment["MISC_RESTORER_URL"]?.trimmingCharacters(in: .whitespaces)
    let source: String, text: String
    if let url {
      (source, text) = ("--restorer", url)
    } else if let environment, !environment.isEmpty {
      (source, text) = ("MISC_RESTORER_URL", environment)
    } else {
      return BicubicRestorer()
    }
    let url = try parse(text, source: source)
    var configuration = DiffusionServerRestorer.Configuration()
    configuration.timeout = timeout
    configuration.maxAttempts = attempts
    do {
      return try await DiffusionServerRestorer.connect(to: url, configuration: configuration, log: { Console.note("note: " + $0) })
    } catch {
      let hint = source == "MISC_RESTORER_URL" ? "; unset MISC_RESTORER_URL to decode with the embedded bicubic restorer" : ""
      throw CLIError("the restorer given by \(source) is unusable: \(Console.describe(error))\(hint)")
    }
  }

  private func parse(_ text: String, source: String) throws -> URL {
    do {
      return try DiffusionServerRestorer.url(text)
    } catch {
      throw ValidationError("\(source): \(Console.describe(error))")
    }
  }
}

/// Flags over every constant of `DecodeSchedule`.
struct ScheduleOptions: ParsableArguments {
  @Option(name: .customLong("item-steps"), help: "Denoising steps of each item pass.")
  var itemSteps = DecodeSchedule().itemSteps

  @Option(name: .customLong("item-guidance"), help: "Classifier-free guidance of each item pass.")
  var itemGuidance = DecodeSchedule().itemGuidanceScale

  @Option(name: .customLong("item-negative-prompt"), help: "Negative prompt of the item passes.")
  var itemNegativePrompt = DecodeSchedule().itemNegativePrompt

  @Option(name: .customLong("final-steps"), help: "Denoising steps of the final pass.")
  var finalSteps = DecodeSchedule().finalSteps

  @Option(name: .customLong("final-guidance"), help: "Classifier-free guidance of the final pass.")
  var finalGuidance = DecodeSchedule().finalGuidanceScale

  @Option(name: .customLong("aesthetic-words"), help: "Appended to the overview in the final prompt (the paper's T_aes).")
  var aestheticWords = DecodeSchedule().aestheticWords

  @Option(name: .customLong("negative-prompt"), help: "Negative prompt of the final pass.")
  var negativePrompt = DecodeSchedule().finalNegativePrompt

  @Option(help: "How far each pass starts from its condition, in (0, 1]: 1 starts from noise. Default: the worker's kind (img2img 0.5, diffbir and controlnet 1).")
  var strength: Double?

  @Flag(name: .customLong("no-color-fix"), help: "Skip the wavelet colour fix of the final pass.")
  var noColorFix = false

  @Option(help: "Soft edge of the item masks, in map cells (0 gives hard block edges).")
  var feather = DecodeSchedule().featherCells

  func validate() throws {
    for (flag, steps) in [("--item-steps", itemSteps), ("--final-steps", finalSteps)] where !(1...1000).contains(steps) {
      throw ValidationError("\(flag) must be within 1...1000 (got \(steps))")
    }
    for (flag, scale) in [("--item-guidance", itemGuidance), ("--final-guidance", finalGuidance)] where !(scale >= 0 && scale <= 100) {
      throw ValidationError("\(flag) must be within 0...100 (got \(scale))")
    }
    let strength = self.strength ?? DecodeSchedule().strength
    if !(strength > 0 && strength <= 1) { throw ValidationError("--strength must be within (0, 1] (got \(strength))") }
    // A pass starting part-way runs steps x strength steps: at least one.
    for (flag, steps) in [("--item-steps", itemSteps), ("--final-steps", finalSteps)] where Double(steps) * strength < 1 {
      throw ValidationError("\(flag) x --strength must be at least 1 step (got \(steps) x \(strength))")
    }
    if !(feather >= 0 && feather <= 8) { throw ValidationError("--feather must be within 0...8 map cells (got \(feather))") }
  }

  var schedule: DecodeSchedule {
    var schedule = DecodeSchedule()
    schedule.itemSteps = itemSteps
    schedule.itemGuidanceScale = itemGuidance
    schedule.itemNegativePrompt = itemNegativePrompt
    schedule.finalSteps = finalSteps
    schedule.finalGuidanceScale = finalGuidance
    schedule.aestheticWords = aestheticWords
    schedule.finalNegativePrompt = negativePrompt
    schedule.strength = strength ?? DecodeSchedule().strength
    schedule.colorFix = !noColorFix
    schedule.featherCells = feather
    return schedule
  }
}
