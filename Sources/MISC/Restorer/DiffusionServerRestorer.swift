import Foundation
import MISCImage

/// A `Restorer` that runs each pass on the diffusion worker (`worker/`, a diffusers service)
/// over HTTP (`HTTPTransport`), as `docs/RESTORER-PROTOCOL.md` describes. Its `RetryPolicy`
/// retries connection errors and 5xx answers with backoff, and asks a busy worker (503 with
/// `Retry-After`, or 429) again, with the same request and so the same seed, after the wait it
/// names, until `busyDeadline`; other 4xx answers fail at once with the worker's message.
public struct DiffusionServerRestorer: Restorer {
  /// How patient the client is.
  public struct Configuration: Sendable, Hashable {
    /// The longest one pass may take, in seconds: a 40-step SD 2.1 pass takes seconds on a GPU
    /// and minutes on a CPU.
    public var timeout: Double = 900
    /// The longest the health check may take, in seconds.
    public var healthTimeout: Double = 15
    /// Attempts per request; connection errors, 408 and 5xx answers are retried.
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

    /// How requests are retried: a fixed backoff schedule, no retry after a timeout (the pass
    /// would start over), and busy answers waited for until `busyDeadline`.
    var retryPolicy: RetryPolicy {
      RetryPolicy(maxAttempts: max(1, maxAttempts), baseDelay: baseDelay, maxDelay: maxDelay, jitter: false,
                  retriesTimeouts: false, busyDeadline: busyDeadline, maxRetryAfter: maxRetryAfter)
    }
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
  public private(set) var health: Health?
  /// Called before each retry with a one-line reason.
  public var log: @Sendable (String) -> Void = { _ in }
  /// The wait between attempts (replaced by tests).
  var sleep = RetryPolicy.taskSleep
  /// The clock of `busyDeadline` (replaced by tests).
  var now: @Sendable () -> Date = { Date() }
  /// Every retry this client (and its copies) made: connection errors, 5xx, busy answers.
  public private(set) var retries = RetryCount()
  /// The connection to the worker, shared by a client and its copies.
  private let transport = HTTPTransport()

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
    restorer.health = try await restorer.checkHealth()
    return restorer
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

  /// One request, retried as `configuration.retryPolicy` says: the body of the 2xx answer.
  private func exchange(_ url: URL, body: Data?, timeout: Double) async throws -> Data {
    let request = HTTPTransport.Request(url: url, body: body, timeout: timeout)
    let server = "the diffusion worker at \(url.absoluteString)"
    do {
      return try await configuration.retryPolicy.run(sleep: sleep, now: now, onRetry: { retry in
        retries.add()
        log(retry.line(server: server))
      }) {
        try await transport.send(request)
      }.body
    } catch let failure as RetryPolicy.Failure {
      throw DiffusionServerError(failure, url: url.absoluteString, timeout: timeout, busyDeadline: configuration.busyDeadline)
    }
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
  /// A 4xx (a 408 after every attempt): the worker refused the request; `message` is its own.
  case rejected(url: String, status: Int, message: String)
  /// A 5xx after every attempt (a 501 at once).
  case serverFailed(url: String, status: Int, message: String, attempts: Int)
  /// The worker was still busy (503 with Retry-After, or 429) at the client's busy deadline.
  case busy(url: String, status: Int, message: String, seconds: Double, attempts: Int)
  /// A 2xx whose body is not what the protocol promises.
  case badResponse(url: String, reason: String)

  /// The error for a request the retry policy gave up on, with the worker's own message.
  init(_ failure: RetryPolicy.Failure, url: String, timeout: Double, busyDeadline: Double) {
    switch failure.outcome {
    case .timedOut:
      self = .timedOut(url: url, seconds: timeout)
    case let .unreachable(reason):
      self = .unreachable(url: url, reason: reason, attempts: failure.attempts)
    case let .answer(response):
      let message = ServerErrorBody.message(in: response.body) ?? "no message"
      if failure.stillBusy {
        self = .busy(url: url, status: response.status, message: message, seconds: busyDeadline, attempts: failure.attempts)
      } else if (400..<500).contains(response.status) {
        self = .rejected(url: url, status: response.status, message: message)
      } else {
        self = .serverFailed(url: url, status: response.status, message: message, attempts: failure.attempts)
      }
    }
  }

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
