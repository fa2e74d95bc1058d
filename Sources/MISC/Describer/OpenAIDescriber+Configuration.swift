import Foundation

extension OpenAIDescriber {
  /// Where the model is and how to ask it. Flags fill it first, then `MISC_LMM_*` variables
  /// (see `resolve`).
  public struct Configuration: Sendable, Hashable {
    /// OpenAI's API, used when no URL is given.
    public static let openAIBaseURL = "https://api.openai.com/v1"

    /// The server's base URL. A URL without a path gets `/v1` appended; any other path is kept
    /// as given; `/chat/completions` is then appended unless the URL already ends with it.
    public var baseURL: String = Configuration.openAIBaseURL
    /// The model name the server knows, e.g. `gpt-4o`, `qwen2.5vl:7b`.
    public var model: String
    /// Sent only as `Authorization: Bearer …`; nil sends no header (local servers).
    public var apiKey: String?
    /// The long side, in pixels, of the image sent; smaller images are never upscaled.
    public var longSide: Int = 768
    /// The quality of the JPEG sent.
    public var jpegQuality: Int = 90
    /// Decoding seed, for servers that honour one (with temperature 0).
    public var seed: Int = 0
    /// The overview's word budget, from the level (`Level.overviewWords`).
    public var overviewWords: Int = Level.misc1.overviewWords
    /// Seconds one HTTP request may take.
    public var timeout: Double = 60
    /// HTTP attempts per request, the first included (retries on connection errors, timeouts,
    /// 408, 429 and 5xx but 501).
    public var maxAttempts: Int = 4
    /// The first retry's backoff in seconds; doubled each retry, with jitter.
    public var baseDelay: Double = 1
    /// The longest wait between attempts, Retry-After included.
    public var maxDelay: Double = 30
    /// Where described semantics are cached; nil disables the cache.
    public var cacheDirectory: String?

    public init(model: String, baseURL: String = Configuration.openAIBaseURL, apiKey: String? = nil) {
      self.model = model
      self.baseURL = baseURL
      self.apiKey = apiKey
    }

    /// How requests are retried: jittered backoff, timeouts retried, and 429s counted in
    /// `maxAttempts` like any other failure.
    var retryPolicy: RetryPolicy {
      RetryPolicy(maxAttempts: max(1, maxAttempts), baseDelay: baseDelay, maxDelay: maxDelay, jitter: true,
                  retriesTimeouts: true, busyDeadline: nil, maxRetryAfter: maxDelay)
    }

    /// The chat-completions endpoint for `baseURL` (rule above), or nil if it is not an http(s) URL.
    public var endpoint: URL? {
      var text = baseURL.trimmingCharacters(in: .whitespaces)
      while text.hasSuffix("/") { text.removeLast() }
      guard var components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
      else { return nil }
      var path = components.path
      if path.isEmpty { path = "/v1" }
      if !path.hasSuffix("/chat/completions") { path += "/chat/completions" }
      components.path = path
      return components.url
    }

    /// The settings from flags, falling back to the environment: `MISC_LMM_URL`,
    /// `MISC_LMM_MODEL`, `MISC_LMM_API_KEY` then `OPENAI_API_KEY`. Nil when no model is set
    /// (no LMM configured). Empty values count as unset.
    public static func resolve(url: String?, model: String?, apiKey: String?,
                               environment: [String: String]) -> Configuration? {
      func value(_ flag: String?, _ names: String...) -> String? {
        if let flag, !flag.isEmpty { return flag }
        for name in names {
          if let v = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty { return v }
        }
        return nil
      }
      guard let model = value(model, "MISC_LMM_MODEL") else { return nil }
      return Configuration(model: model, baseURL: value(url, "MISC_LMM_URL") ?? openAIBaseURL,
                           apiKey: value(apiKey, "MISC_LMM_API_KEY", "OPENAI_API_KEY"))
    }

    /// The default cache directory: `$XDG_CACHE_HOME/misc/describe`, else `~/.cache/misc/describe`.
    public static func defaultCacheDirectory(environment: [String: String]) -> String {
      if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
        return URL(fileURLWithPath: xdg).appendingPathComponent("misc/describe").path
      }
      let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
      return URL(fileURLWithPath: home).appendingPathComponent(".cache/misc/describe").path
    }
  }
}

extension OpenAIDescriber.Configuration: CustomStringConvertible {
  /// For notices and logs: never shows the key.
  public var description: String {
    "model '\(model)' at \(endpoint?.absoluteString ?? baseURL)" + (apiKey == nil ? " (no API key)" : "")
  }
}
