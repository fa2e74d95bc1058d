import Foundation

/// POSTs JSON to a chat-completions endpoint through `HTTPTransport`, retried as its
/// `RetryPolicy` says (connection errors, timeouts, 408, 429 and 5xx, with jitter and
/// Retry-After); each failure becomes a `DescriberError` with the server's own message. The API
/// key goes only into the Authorization header and is scrubbed from every message this client
/// produces.
struct ChatCompletionsClient: Sendable {
  var endpoint: URL
  var model: String
  var apiKey: String?
  var timeout: Double
  var policy: RetryPolicy
  var sleep: @Sendable (Double) async throws -> Void
  var log: @Sendable (String) -> Void
  var now: @Sendable () -> Date = { Date() }
  let transport: HTTPTransport

  /// The endpoint as shown in messages.
  var shownURL: String { redact(endpoint.absoluteString) }

  /// The body of a 2xx answer.
  func post(_ body: Data) async throws -> Data {
    var headers = ["Accept": "application/json"]
    if let apiKey { headers["Authorization"] = "Bearer \(apiKey)" }
    let request = HTTPTransport.Request(url: endpoint, body: body, headers: headers, timeout: timeout)
    let server = "the LMM at \(shownURL)"
    do {
      return try await policy.run(sleep: sleep, now: now, onRetry: { log(redact($0.line(server: server))) }) {
        try await transport.send(request)
      }.body
    } catch let failure as RetryPolicy.Failure {
      throw describerError(failure)
    }
  }

  /// The error for a request the policy gave up on, with the server's own message.
  private func describerError(_ failure: RetryPolicy.Failure) -> DescriberError {
    switch failure.outcome {
    case .timedOut:
      return .timedOut(url: shownURL, attempts: failure.attempts, seconds: timeout)
    case let .unreachable(reason):
      return .unreachable(url: shownURL, attempts: failure.attempts, reason: redact(reason))
    case let .answer(response):
      let message = ServerErrorBody.message(in: response.body).map(redact)
      switch response.status {
      case 400: return .badRequest(url: shownURL, message: message)
      case 401: return .unauthorized(url: shownURL, keySent: apiKey != nil, message: message)
      case 403: return .forbidden(url: shownURL, model: model, message: message)
      case 404: return .modelNotFound(url: shownURL, model: model, message: message)
      default: return .httpStatus(url: shownURL, status: response.status, attempts: failure.attempts, message: message)
      }
    }
  }

  /// `text` with the API key replaced.
  func redact(_ text: String) -> String {
    guard let apiKey, !apiKey.isEmpty else { return text }
    return text.replacingOccurrences(of: apiKey, with: "[redacted]")
  }
}
