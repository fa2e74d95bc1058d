import ArgumentParser
import Foundation
import MISC

/// The LMM encoder's settings, shared by `misc describe` and `misc encode`. Flags first, then
/// `MISC_LMM_URL`, `MISC_LMM_MODEL`, `MISC_LMM_API_KEY` (else `OPENAI_API_KEY`). An LMM is
/// configured when a model is set.
struct LMMOptions: ParsableArguments {
  @Option(name: .customLong("lmm-url"), help: ArgumentHelp(
    "Base URL of an OpenAI-compatible server (default: $MISC_LMM_URL, else https://api.openai.com/v1).",
    discussion: "A URL without a path gets /v1 (http://localhost:11434 -> http://localhost:11434/v1); other paths are kept; /chat/completions is appended."))
  var url: String?

  @Option(name: .customLong("lmm-model"), help: "Vision model that describes the images (default: $MISC_LMM_MODEL); setting one enables the LMM.")
  var model: String?

  @Option(name: .customLong("lmm-api-key"), help: "API key (discouraged: other users can see it; prefer $MISC_LMM_API_KEY or $OPENAI_API_KEY).")
  var apiKey: String?

  @Option(name: .customLong("long-side"), help: "Long side, in pixels, of the image sent to the LMM (never upscaled).")
  var longSide = Self.defaults.longSide

  @Option(help: "Seconds one LMM request may take before it is retried.")
  var timeout = Self.defaults.timeout

  @Option(name: .customLong("lmm-attempts"), help: "Attempts per LMM request on connection errors, timeouts, 429 and 5xx.")
  var attempts = Self.defaults.maxAttempts

  @Flag(name: .customLong("no-cache"), help: "Neither read nor write the describe cache ($XDG_CACHE_HOME/misc/describe or ~/.cache/misc/describe).")
  var noCache = false

  func validate() throws {
    if longSide < 16 || longSide > 8192 { throw ValidationError("--long-side must be within 16...8192 (got \(longSide))") }
    if !(timeout > 0 && timeout <= 3600) { throw ValidationError("--timeout must be within 0...3600 seconds (got \(timeout))") }
    if attempts < 1 || attempts > 20 { throw ValidationError("--lmm-attempts must be within 1...20 (got \(attempts))") }
    if (url != nil || apiKey != nil) && configuration(overviewWords: 50) == nil {
      throw ValidationError("--lmm-url and --lmm-api-key need a model: give --lmm-model or set MISC_LMM_MODEL")
    }
    if let url, let configuration = configuration(overviewWords: 50), configuration.endpoint == nil {
      throw ValidationError("--lmm-url '\(url)' is not an http(s) URL")
    }
  }

  /// The library's defaults, read rather than typed again here.
  private static let defaults = OpenAIDescriber.Configuration(model: "")

  /// How to configure an LMM, for notices and errors.
  static let howTo = "give --lmm-model (or set MISC_LMM_MODEL), plus --lmm-url/MISC_LMM_URL for a server other than OpenAI and MISC_LMM_API_KEY or OPENAI_API_KEY for its key"

  /// The describer's configuration, or nil when no model is configured.
  func configuration(overviewWords: Int) -> OpenAIDescriber.Configuration? {
    let environment = ProcessInfo.processInfo.environment
    guard var configuration = OpenAIDescriber.Configuration.resolve(url: url, model: model, apiKey: apiKey, environment: environment) else {
      return nil
    }
    configuration.longSide = longSide
    configuration.timeout = timeout
    configuration.maxAttempts = attempts
    configuration.overviewWords = overviewWords
    configuration.cacheDirectory = noCache ? nil : OpenAIDescriber.Configuration.defaultCacheDirectory(environment: environment)
    return configuration
  }

  /// The describer, or nil when no model is configured. Its notices go to stderr.
  func describer(overviewWords: Int) throws -> OpenAIDescriber? {
    guard let configuration = configuration(overviewWords: overviewWords) else { return nil }
    return try OpenAIDescriber(configuration: configuration, log: { Console.note("note: " + $0) })
  }
}
