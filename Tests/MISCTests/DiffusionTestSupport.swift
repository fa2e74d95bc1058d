import FlyingFox
import Foundation
import MISCImage
@testable import MISC

/// A fake diffusion worker: `FakeHTTPServer` with the worker protocol's answers.
final class FakeDiffusionWorker: FakeHTTPServer, @unchecked Sendable {
  var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

  /// The worker's JSON error body.
  static func error(_ status: Int, _ message: String) -> HTTPResponse {
    json(status, ["error": ["message": message, "type": "invalid_request"]])
  }

  static func png(_ image: Image) throws -> HTTPResponse {
    HTTPResponse(statusCode: .ok, headers: [.contentType: "image/png"], body: Data(try ImageIO.encodePNG(image)))
  }

  static func health(model: String = "stabilityai/stable-diffusion-2-1-base", controlnet: String? = "tile",
                     pipeline: String? = nil) -> HTTPResponse {
    var body: [String: Any] = ["status": "ok", "model": ["id": model, "path": "/models/sd"],
                               "pipeline": pipeline ?? (controlnet == nil ? "img2img" : "controlnet"),
                               "device": "cuda", "dtype": "float16", "requests": 0]
    body["controlnet"] = controlnet.map { ["id": $0, "path": "/models/cn"] } ?? NSNull()
    return json(200, body)
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
