import FlyingFox
import Foundation
import MISCImage
@testable import MISC

/// A fake diffusion worker on 127.0.0.1: records every request and answers with
/// `respond(n, request)`, where n counts requests from 0.
final class FakeDiffusionWorker: @unchecked Sendable {
  struct Request: @unchecked Sendable {
    var method: String
    var path: String
    var body: Data
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
  }

  typealias Responder = @Sendable (Int, Request) async throws -> HTTPResponse

  private let server: HTTPServer
  private let task: Task<Void, any Error>
  let port: UInt16
  private let lock = NSLock()
  private var recorded: [Request] = []

  var requests: [Request] { lock.withLock { recorded } }
  var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

  init(_ respond: @escaping Responder) async throws {
    let handler = FakeWorkerHandler()
    server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: 0), timeout: 30, logger: .disabled, handler: handler)
    let server = self.server
    task = Task { try await server.run() }
    try await server.waitUntilListening()
    guard case let .ip4(_, port)? = await server.listeningAddress else { throw CocoaError(.featureUnsupported) }
    self.port = port
    handler.respond = { [unowned self] request in
      let recordedRequest = Request(method: request.method.rawValue, path: request.path, body: try await request.bodyData)
      let index = self.lock.withLock {
        self.recorded.append(recordedRequest)
        return self.recorded.count - 1
      }
      return try await respond(index, recordedRequest)
    }
  }

  func stop() async {
    await server.stop(timeout: 0)
    task.cancel()
  }

  /// The worker's JSON error body.
  static func error(_ status: Int, _ message: String) -> HTTPResponse {
    let body = try! JSONSerialization.data(withJSONObject: ["error": ["message": message, "type": "invalid_request"]])
    return HTTPResponse(statusCode: HTTPStatusCode(status, phrase: ""), headers: [.contentType: "application/json"], body: body)
  }

  static func png(_ image: Image) throws -> HTTPResponse {
    HTTPResponse(statusCode: .ok, headers: [.contentType: "image/png"], body: Data(try ImageIO.encodePNG(image)))
  }

  static func health(model: String = "stabilityai/stable-diffusion-2-1-base", controlnet: String? = "tile") -> HTTPResponse {
    var body: [String: Any] = ["status": "ok", "model": ["id": model, "path": "/models/sd"], "pipeline": controlnet == nil ? "img2img" : "controlnet",
                               "device": "cuda", "dtype": "float16", "requests": 0]
    body["controlnet"] = controlnet.map { ["id": $0, "path": "/models/cn"] } ?? NSNull()
    let data = try! JSONSerialization.data(withJSONObject: body)
    return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json"], body: data)
  }

  /// A port nothing listens on.
  static func closedPort() async throws -> UInt16 {
    let fake = try await FakeDiffusionWorker { _, _ in HTTPResponse(statusCode: .ok) }
    let port = fake.port
    await fake.stop()
    return port
  }
}

private final class FakeWorkerHandler: HTTPHandler, @unchecked Sendable {
  var respond: (@Sendable (HTTPRequest) async throws -> HTTPResponse)?
  func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
    guard let respond else { return HTTPResponse(statusCode: .serviceUnavailable) }
    return try await respond(request)
  }
}

/// Passes every pass on to `inner` and records the passes, in order.
actor PassRecordingRestorer: Restorer {
  let inner: any Restorer
  private(set) var passes: [RestorePass] = []
  init(_ inner: any Restorer) { self.inner = inner }
  nonisolated var name: String { inner.name }

  func restore(_ condition: Image, _ pass: RestorePass) async throws -> Image {
    passes.append(pass)
    return try await inner.restore(condition, pass)
  }
}
