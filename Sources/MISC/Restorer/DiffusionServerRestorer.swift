import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MISCImage

/// A `Restorer` that runs each pass on the diffusion worker (`worker/`, a diffusers service)
/// over HTTP, as `docs/RESTORER-PROTOCOL.md` describes. Connection errors and 5xx answers are
/// retried with backoff; a busy worker (503 with `Retry-After`, or 429) is asked again, with the
/// same request and so the same seed, after the wait it names, until `busyDeadline`; other 4xx
/// answers fail at once with the worker's message.
public struct DiffusionServerRestorer: Restorer {
  /// How patient the client is.
  public struct Configuration: Sendable, Hashable {
    /// The longest one pass may take, in seconds: a 40-step SD 2.1 pass takes seconds on a GPU
    /// and minutes on a CPU.
    public var timeout: Double = 900
    /// The longest the health check may take, in seconds.
    public var healthTimeout: Double = 15
    /// Attempts per request; connection errors and 5xx answers are retried.
    public var maxAttempts = 4
    /// The wait before the first retry, in seconds; it doubles after each.
    public var baseDelay: Double = 0.5
    /// The longest wait between two attempts, in seconds.
    public var maxDelay: Double = 8
    /// How long, in seconds from its first attempt, a request is retried while the worker says
    /// it is busy (503 with `Retry-After`, or 429); these retries do not count in `maxAttempts`.
    public var busyDeadline: Double = 900
    /// The longest wait a `Retry-After` may impose, in seconds.
    public var maxRetryAfter: Double = 120

    public init() {}
  }

  /// Retries made, shared by a client and its copies (the decode reports them).
  public final class RetryCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    public init() {}
    public var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
  }

  /// What `GET /v1/health` says about the worker.
  public struct Health: Sendable, Hashable, Decodable {
    public struct Component: Sendable, Hashable, Decodable {
      public var id: String
      public var path: String?
    }
    public var status: String
    public var model: Component
    public var controlnet: Component?
    /// "diffbir", "controlnet" or "img2img".
    public var pipeline: String
    public var device: String
    public var dtype: String
    /// Restore requests received since the worker started.
    public var requests: Int?

    /// The strength a decode uses unless the user sets one: DiffBIR and ControlNet passes start
    /// from noise (1.0) and see the condition through their ControlNet; img2img passes start
    /// from the noised condition at 0.5, since from noise they would keep nothing of it.
    public var defaultStrength: Double { Self.defaultStrength(pipeline: pipeline) }

    public static func defaultStrength(pipeline: String) -> Double {
      pipeline == "img2img" ? 0.5 : 1.0
    }
  }

  /// The worker's base URL, e.g. http://127.0.0.1:7860.
  public let baseURL: URL
  public let configuration: Configuration
  /// The worker's answer to the health check, when one was made.
  public let health: Health?
  /// Called before each retry with a one-line reason.
  public var log: @Sendable (String) -> Void = { _ in }
  /// The wait between attempts (replaced by tests).
  var sleep: @Sendable (Double) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) }
  /// The clock of `busyDeadline` (replaced by tests).
  var now: @Sendable () -> Date = { Date() }
  /// Every retry this client (and its copies) made: connection errors, 5xx, busy answers.
  public private(set) var retries = RetryCount()

  public var name: String {
    guard let health else { return "diffusion worker at \(baseURL.absoluteString)" }
    let model = health.pipeline == "diffbir"
      ? "DiffBIR \(health.controlnet?.id ?? health.model.id)"
      : health.model.id + (health.controlnet.map { " + ControlNet \($0.id)" } ?? ", img2img")
    return "diffusion worker at \(baseURL.absoluteString) (\(model); \(health.device), \(health.dtype))"
  }

  /// The strength for a worker of this pipeline kind (1.0 when its kind is not known yet).
  public var defaultStrength: Double { health?.defaultStrength ?? 1.0 }

  /// A client of the worker at `url`; no request is made until the first pass.
  public init(url: URL, configuration: Configuration = Configuration(), health: Health? = nil) {
    self.baseURL = url
    self.configuration = configuration
    self.health = health
  }

  /// Parses a base URL given by a user: http or https with a host.
  public static func url(_ text: String) throws -> URL {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
          let host = url.host, !host.isEmpty else {
      throw DiffusionServerError.invalidURL(text)
    }
    return url
  }

  /// Checks that the worker at `url` answers its health check; the client it returns names the model.
  public static func connect(to url: URL, configuration: Configuration = Configuration(),
                             log: @escaping @Sendable (String) -> Void = { _ in }) async throws -> DiffusionServerRestorer {
    var restorer = DiffusionServerRestorer(url: url, configuration: configuration)
    restorer.log = log
    let health = try await restorer.checkHealth()
    var connected = DiffusionServerRestorer(url: url, configuration: configuration, health: health)
    connected.log = log
    connected.retries = restorer.retries
    return connected
  }

  /// `GET /v1/health`, retried like a pass but bounded by `healthTimeout`.
  public func checkHealth() async throws -> Health {
    let endpoint = endpoint("v1/health")
    let data = try await exchange(endpoint, body: nil, timeout: configuration.healthTimeout)
    do {
      let health = try JSONDecoder().decode(Health.self, from: data)
      guard health.status == "ok" else {
        throw DiffusionServerError.badResponse(url: endpoint.absoluteString, reason: "the health status is '\(health.status)'")
      }
      return health
    } catch let error as DiffusionServerError {
      throw error
    } catch {
      throw DiffusionServerError.badResponse(url: endpoint.absoluteString, reason: "the health answer is not the worker's JSON (\(error))")
    }
  }

  public func restore(_ condition: Image, _ pass: RestorePass) async throws -> Image {
    let endpoint = endpoint("v1/restore")
    let request = RestoreRequestBody(
      image: Data(try ImageIO.encodePNG(condition)).base64EncodedString(), prompt: pass.prompt,
      negative_prompt: pass.negativePrompt, steps: pass.steps, guidance_scale: pass.guidanceScale,
      strength: pass.strength, seed: pass.seed, color_fix: pass.colorFix)
    let data = try await exchange(endpoint, body: try JSONEncoder().encode(request), timeout: configuration.timeout)
    let image: Image
    do {
      image = try ImageIO.decode([UInt8](data), name: "the answer of \(endpoint.absoluteString)",
                                 maxPixels: condition.width * condition.height).image
    } catch {
      throw DiffusionServerError.badResponse(url: endpoint.absoluteString, reason: "the answer is not a PNG of the condition's size (\(error))")
    }
    guard image.width == condition.width, image.height == condition.height else {
      throw DiffusionServerError.badResponse(
        url: endpoint.absoluteString,
        reason: "the worker returned \(image.width)x\(image.height) for a \(condition.width)x\(condition.height) condition")
    }
    return image
  }

  private func endpoint(_ path: String) -> URL {
    var base = baseURL.absoluteString
    while base.hasSuffix("/") { base.removeLast() }
    return URL(string: base + "/" + path)!
  }

  /// One request, retried on connection errors and 5xx, and while the worker is busy: the body
  /// of the 2xx answer.
  private func exchange(_ url: URL, body: Data?, timeout: Double) async throws -> Data {
    let attempts = max(1, configuration.maxAttempts)
    let started = now()
    var attempt = 1
    var busyRetries = 0
    while true {
      try Task.checkCancellation()
      let failure: DiffusionServerError
      do {
        let (status, headers, data) = try await HTTPExchange.perform(url: url, body: body, timeout: timeout)
        if (200..<300).contains(status) { return data }
        let message = Self.serverMessage(data) ?? "no message"
        let retryAfter = headers["retry-after"].flatMap { ChatCompletionsClient.retryAfter($0, now: now()) }
        if status == 429 || (status == 503 && retryAfter != nil) {
          // Busy: the same request again (the same seed) after the wait the worker names.
          let backoff = min(configuration.maxDelay, configuration.baseDelay * pow(2, Double(min(busyRetries, 16))))
          let delay = min(configuration.maxRetryAfter, retryAfter ?? backoff)
          let elapsed = now().timeIntervalSince(started)
          guard elapsed + delay <= configuration.busyDeadline else {
            throw DiffusionServerError.busy(url: url.absoluteString, status: status, message: message,
                                            seconds: configuration.busyDeadline, attempts: attempt + busyRetries)
          }
          busyRetries += 1
          retries.add()
          log("the diffusion worker at \(url.absoluteString) is busy (HTTP \(status)); retry in \(String(format: "%.1f", delay)) s")
          try await sleep(delay)
          continue
        }
        if (400..<500).contains(status) {
          throw DiffusionServerError.rejected(url: url.absoluteString, status: status, message: message)
        }
        failure = .serverFailed(url: url.absoluteString, status: status, message: message, attempts: attempt)
      } catch let error as HTTPExchange.Failure {
        switch error {
        case .timedOut: throw DiffusionServerError.timedOut(url: url.absoluteString, seconds: timeout)
        case let .unreachable(reason): failure = .unreachable(url: url.absoluteString, reason: reason, attempts: attempt)
        }
      }
      guard attempt < attempts else { throw failure }
      let delay = min(configuration.maxDelay, configuration.baseDelay * pow(2, Double(attempt - 1)))
      log("\(failure); retry \(attempt) of \(attempts - 1) in \(String(format: "%.1f", delay)) s")
      retries.add()
      try await sleep(delay)
      attempt += 1
    }
  }

  /// The message of the worker's `{"error": {"message": …}}`, else the start of a plain-text body.
  static func serverMessage(_ data: Data) -> String? {
    if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
      if let error = object["error"] as? [String: Any], let message = error["message"] as? String { return message }
      if let message = (object["error"] as? String) ?? (object["detail"] as? String) { return message }
    }
    guard let text = String(data: data.prefix(300), encoding: .utf8) else { return nil }
    let flat = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    return flat.isEmpty ? nil : flat
  }
}

/// The JSON body of `POST /v1/restore` (docs/RESTORER-PROTOCOL.md).
private struct RestoreRequestBody: Encodable {
  var image: String
  var prompt: String
  var negative_prompt: String
  var steps: Int
  var guidance_scale: Double
  var strength: Double
  var seed: UInt32
  var color_fix: Bool
}

/// What went wrong talking to the diffusion worker.
public enum DiffusionServerError: Error, CustomStringConvertible, Sendable, Equatable {
  case invalidURL(String)
  /// No connection after every attempt.
  case unreachable(url: String, reason: String, attempts: Int)
  /// The request took longer than the client's timeout (not retried: the pass would start again).
  case timedOut(url: String, seconds: Double)
  /// A 4xx: the worker refused the request; `message` is its own.
  case rejected(url: String, status: Int, message: String)
  /// A 5xx after every attempt.
  case serverFailed(url: String, status: Int, message: String, attempts: Int)
  /// The worker was still busy (503 with Retry-After, or 429) at the client's busy deadline.
  case busy(url: String, status: Int, message: String, seconds: Double, attempts: Int)
  /// A 2xx whose body is not what the protocol promises.
  case badResponse(url: String, reason: String)

  public var description: String {
    switch self {
    case let .invalidURL(text):
      return "'\(text)' is not an http(s) URL of a diffusion worker (e.g. http://127.0.0.1:7860)"
    case let .unreachable(url, reason, attempts):
      return "cannot reach the diffusion worker at \(url): \(reason)" + Self.times(attempts)
    case let .timedOut(url, seconds):
      return "the diffusion worker at \(url) did not answer within \(String(format: "%g", seconds)) s"
    case let .rejected(url, status, message):
      return "the diffusion worker at \(url) refused the request (HTTP \(status)): \(message)"
    case let .serverFailed(url, status, message, attempts):
      return "the diffusion worker at \(url) failed (HTTP \(status)): \(message)" + Self.times(attempts)
    case let .busy(url, status, message, seconds, attempts):
      return "the diffusion worker at \(url) stayed busy (HTTP \(status)) for \(String(format: "%g", seconds)) s: \(message)"
        + Self.times(attempts)
    case let .badResponse(url, reason):
      return "unexpected answer from the diffusion worker at \(url): \(reason)"
    }
  }

  private static func times(_ attempts: Int) -> String {
    attempts > 1 ? " (\(attempts) attempts)" : ""
  }
}
