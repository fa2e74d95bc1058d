import FlyingFox
import Foundation
import MISCImage
@testable import MISC

/// A fake HTTP server on 127.0.0.1 for the LMM and diffusion-worker clients: records every
/// request and answers with `respond(n, request)`, where n counts requests from 0.
class FakeHTTPServer: @unchecked Sendable {
  struct Request: @unchecked Sendable {
    var method: String
    var path: String
    /// Header names in lower case.
    var headers: [String: String]
    var body: Data
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
  }

  typealias Responder = @Sendable (Int, Request) async throws -> HTTPResponse

  private let server: HTTPServer
  private let task: Task<Void, any Error>
  let port: UInt16
  private let lock = NSLock()
  private var recorded: [Request] = []
  private var inFlight = 0
  private var peak = 0

  var requests: [Request] { lock.withLock { recorded } }
  var count: Int { lock.withLock { recorded.count } }
  /// The most requests that were being answered at once.
  var peakConcurrency: Int { lock.withLock { peak } }

  init(_ respond: @escaping Responder) async throws {
    let box = ResponderBox()
    server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: 0), timeout: 30, logger: .disabled,
                        handler: ClosureHTTPHandler { request in try await box.handle(request) })
    let server = self.server
    task = Task { try await server.run() }
    try await server.waitUntilListening()
    guard case let .ip4(_, port)? = await server.listeningAddress else { throw CocoaError(.featureUnsupported) }
    self.port = port
    box.handler = { [unowned self] request in
      var headers: [String: String] = [:]
      for (key, value) in request.headers { headers[key.rawValue.lowercased()] = value }
      let recordedRequest = Request(method: request.method.rawValue, path: request.path, headers: headers, body: try await request.bodyData)
      let index = self.lock.withLock {
        self.recorded.append(recordedRequest)
        self.inFlight += 1
        self.peak = max(self.peak, self.inFlight)
        return self.recorded.count - 1
      }
      defer { self.lock.withLock { self.inFlight -= 1 } }
      return try await respond(index, recordedRequest)
    }
  }

  func stop() async {
    await server.stop(timeout: 0)
    task.cancel()
  }

  /// A port nothing listens on.
  static func closedPort() async throws -> UInt16 {
    let fake = try await FakeHTTPServer { _, _ in HTTPResponse(statusCode: .ok) }
    let port = fake.port
    await fake.stop()
    return port
  }

  static func json(_ status: Int, _ body: [String: Any], headers: [String: String] = [:]) -> HTTPResponse {
    var all: HTTPHeaders = [.contentType: "application/json"]
    for (key, value) in headers { all[HTTPHeader(key)] = value }
    let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return HTTPResponse(statusCode: HTTPStatusCode(status, phrase: ""), headers: all, body: data)
  }
}

private final class ResponderBox: @unchecked Sendable {
  var handler: (@Sendable (HTTPRequest) async throws -> HTTPResponse)?
  func handle(_ request: HTTPRequest) async throws -> HTTPResponse {
    guard let handler else { return HTTPResponse(statusCode: .serviceUnavailable) }
    return try await handler(request)
  }
}

/// A fake OpenAI-compatible server: `FakeHTTPServer` with the chat-completions wire format.
final class FakeLMM: FakeHTTPServer, @unchecked Sendable {
  var baseURL: String { "http://127.0.0.1:\(port)/v1" }

  // MARK: - Wire-format answers

  static func completion(_ content: String?, refusal: String? = nil) -> HTTPResponse {
    var message: [String: Any] = ["role": "assistant", "content": content as Any? ?? NSNull()]
    message["refusal"] = refusal as Any? ?? NSNull()
    let body: [String: Any] = [
      "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000, "model": "test-vision",
      "choices": [["index": 0, "message": message, "logprobs": NSNull(), "finish_reason": "stop"]],
      "usage": ["prompt_tokens": 1105, "completion_tokens": 96, "total_tokens": 1201],
      "system_fingerprint": "fp_test",
    ]
    return json(200, body)
  }

  static func error(_ status: Int, _ message: String, type: String = "invalid_request_error", code: String? = nil,
                    headers: [String: String] = [:]) -> HTTPResponse {
    let body: [String: Any] = ["error": ["message": message, "type": type, "param": NSNull(), "code": code as Any? ?? NSNull()]]
    return json(status, body, headers: headers)
  }

  static let schemaAnswer = """
    {"items":[{"name":"astronaut","detail":"white spacesuit, reflective gold visor, floating"},\
    {"name":"Earth","detail":"blue planet with swirling clouds below"},\
    {"name":"space station","detail":"metal truss and solar panels on the left"}],\
    "overview":"An astronaut in a white suit floats above a blue Earth beside a space station, the black sky behind."}
    """
}

/// Records the delays a describer asked to sleep, without sleeping.
final class SleepRecorder: @unchecked Sendable {
  private let lock = NSLock()
  private var recorded: [Double] = []
  var delays: [Double] { lock.withLock { recorded } }
  var sleep: @Sendable (Double) async throws -> Void {
    { [self] seconds in lock.withLock { recorded.append(seconds) } }
  }
}

/// Collects a describer's notices.
final class LogRecorder: @unchecked Sendable {
  private let lock = NSLock()
  private var recorded: [String] = []
  var lines: [String] { lock.withLock { recorded } }
  var log: @Sendable (String) -> Void { { [self] line in lock.withLock { recorded.append(line) } } }
}

/// A test image with some structure, so its JPEG is not trivial.
func testImage(width: Int, height: Int, seed: Int = 0) -> Image {
  var pixels = [UInt8](repeating: 0, count: width * height * 3)
  for y in 0..<height {
    for x in 0..<width {
      let i = (y * width + x) * 3
      pixels[i] = UInt8(truncatingIfNeeded: x * 255 / max(1, width - 1) + seed * 37)
      pixels[i + 1] = UInt8(truncatingIfNeeded: y * 255 / max(1, height - 1) + seed * 11)
      pixels[i + 2] = UInt8(truncatingIfNeeded: (x ^ y) + seed)
    }
  }
  return Image(width: width, height: height, pixels: pixels)
}

func describer(_ fake: FakeLMM, key: String? = "sk-test-0123456789abcdef", model: String = "test-vision",
               timeout: Double = 10, attempts: Int = 4, cache: String? = nil,
               sleep: SleepRecorder = SleepRecorder(), log: LogRecorder = LogRecorder()) throws -> OpenAIDescriber {
  var configuration = OpenAIDescriber.Configuration(model: model, baseURL: fake.baseURL, apiKey: key)
  configuration.timeout = timeout
  configuration.maxAttempts = attempts
  configuration.cacheDirectory = cache
  return try OpenAIDescriber(configuration: configuration, sleep: sleep.sleep, log: log.log)
}
