import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// POSTs JSON to a chat-completions endpoint with a per-request timeout, retrying connection
/// errors, timeouts, 429 and 5xx with exponential backoff and jitter (honouring Retry-After).
/// 400/401/403/404 are never retried. The API key goes only into the Authorization header and
/// is scrubbed from every message this client produces.
struct ChatCompletionsClient: Sendable {
  var endpoint: URL
  var model: String
  var apiKey: String?
  var timeout: Double
  var maxAttempts: Int
  var baseDelay: Double
  var maxDelay: Double
  var sleep: @Sendable (Double) async throws -> Void
  var log: @Sendable (String) -> Void
  var now: @Sendable () -> Date = { Date() }
  let session: URLSession

  /// The endpoint as shown in messages.
  var shownURL: String { redact(endpoint.absoluteString) }

  /// The body of a 2xx answer.
  func post(_ body: Data) async throws -> Data {
    var attempt = 1
    while true {
      try Task.checkCancellation()
      let failure: DescriberError
      var retryAfter: Double? = nil
      do {
        let (status, headers, data) = try await performOnce(body)
        if (200..<300).contains(status) { return data }
        failure = classify(status: status, body: data, attempts: attempt)
        if let value = headers["retry-after"] { retryAfter = Self.retryAfter(value, now: now()) }
      } catch let error as DescriberError {
        failure = error
      }
      guard failure.isTransient, attempt < maxAttempts else { throw failure.withAttempts(attempt) }
      let backoff = min(maxDelay, baseDelay * pow(2, Double(attempt - 1))) * Double.random(in: 0.5...1)
      let delay = min(maxDelay, retryAfter ?? backoff)
      log("\(Self.short(failure)) from \(shownURL); retry \(attempt) of \(maxAttempts - 1) in \(String(format: "%.1f", delay)) s")
      try await sleep(delay)
      attempt += 1
    }
  }

  /// One HTTP exchange: (status, lower-cased headers, body). Transport failures become
  /// `unreachable` or `timedOut`.
  private func performOnce(_ body: Data) async throws -> (Int, [String: String], Data) {
    var request = URLRequest(url: endpoint, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: (timeout + 1).rounded(.up))
    request.httpMethod = "POST"
    request.httpBody = body
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.setValue("application/json", forHTTPHeaderField: "Accept")
    request.setValue("misc/0.1 (MISC semantic image codec)", forHTTPHeaderField: "User-Agent")
    if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }

    let transfer = DeadlineTransfer()
    let outcome: Outcome = await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        let task = session.dataTask(with: request) { data, response, error in
          if let error {
            continuation.resume(returning: .failure(error))
          } else if let response = response as? HTTPURLResponse {
            var headers: [String: String] = [:]
            for (key, value) in response.allHeaderFields {
              if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
            }
            continuation.resume(returning: .response(response.statusCode, headers, data ?? Data()))
          } else {
            continuation.resume(returning: .failure(URLError(.badServerResponse)))
          }
        }
        transfer.start(task, deadline: timeout)
      }
    } onCancel: {
      transfer.cancel(timedOut: false)
    }
    transfer.finish()
    switch outcome {
    case let .response(status, headers, data):
      return (status, headers, data)
    case let .failure(error):
      if Task.isCancelled { throw CancellationError() }
      if transfer.timedOut { throw DescriberError.timedOut(url: shownURL, attempts: 1, seconds: timeout) }
      if let error = error as? URLError {
        if error.code == .timedOut { throw DescriberError.timedOut(url: shownURL, attempts: 1, seconds: timeout) }
        throw DescriberError.unreachable(url: shownURL, attempts: 1, reason: Self.reason(error))
      }
      throw DescriberError.unreachable(url: shownURL, attempts: 1, reason: redact("\(error)"))
    }
  }

  /// An HTTP failure with the server's own message.
  private func classify(status: Int, body: Data, attempts: Int) -> DescriberError {
    let message = serverMessage(body)
    switch status {
    case 400: return .badRequest(url: shownURL, message: message)
    case 401: return .unauthorized(url: shownURL, keySent: apiKey != nil, message: message)
    case 403: return .forbidden(url: shownURL, model: model, message: message)
    case 404: return .modelNotFound(url: shownURL, model: model, message: message)
    default: return .httpStatus(url: shownURL, status: status, attempts: attempts, message: message)
    }
  }

  /// The message of an OpenAI error body (`{"error": {"message": …}}`), or of the common
  /// variants (`{"error": "…"}`, `{"message": …}`, `{"detail": …}`), else short plain text.
  func serverMessage(_ body: Data) -> String? {
    var message: String? = nil
    if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
      if let error = object["error"] as? [String: Any] {
        message = error["message"] as? String
      } else {
        message = (object["error"] as? String) ?? (object["message"] as? String) ?? (object["detail"] as? String)
      }
    } else if let text = String(data: body, encoding: .utf8), !text.contains("<") {
      message = text
    }
    guard let message else { return nil }
    let flat = message.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    return flat.isEmpty ? nil : redact(String(flat.prefix(300)))
  }

  /// `text` with the API key replaced.
  func redact(_ text: String) -> String {
    guard let apiKey, !apiKey.isEmpty else { return text }
    return text.replacingOccurrences(of: apiKey, with: "[redacted]")
  }

  /// Seconds to wait from a Retry-After value: delta-seconds or an HTTP date.
  static func retryAfter(_ value: String, now: Date) -> Double? {
    let text = value.trimmingCharacters(in: .whitespaces)
    if let seconds = Double(text), seconds.isFinite { return max(0, seconds) }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
      formatter.dateFormat = format
      if let date = formatter.date(from: text) { return max(0, date.timeIntervalSince(now)) }
    }
    return nil
  }

  private static func reason(_ error: URLError) -> String {
    switch error.code {
    case .cannotConnectToHost: return "connection refused (is the server running?)"
    case .cannotFindHost, .dnsLookupFailed: return "host not found"
    case .networkConnectionLost: return "the connection was lost"
    case .notConnectedToInternet: return "no network connection"
    case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
         .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
      return "the TLS connection failed"
    case .badServerResponse: return "a malformed HTTP response"
    default: return "URL error \(error.code.rawValue)"
    }
  }

  private static func short(_ error: DescriberError) -> String {
    switch error {
    case let .httpStatus(_, status, _, _): return "HTTP \(status)"
    case .timedOut: return "timeout"
    case let .unreachable(_, _, reason): return reason
    default: return "error"
    }
  }
}

extension DescriberError {
  /// The same failure, reporting how many attempts were made.
  func withAttempts(_ attempts: Int) -> DescriberError {
    switch self {
    case let .httpStatus(url, status, _, message): return .httpStatus(url: url, status: status, attempts: attempts, message: message)
    case let .unreachable(url, _, reason): return .unreachable(url: url, attempts: attempts, reason: reason)
    case let .timedOut(url, _, seconds): return .timedOut(url: url, attempts: attempts, seconds: seconds)
    default: return self
    }
  }
}

/// How one exchange ended.
private enum Outcome: Sendable {
  case response(Int, [String: String], Data)
  case failure(any Error)
}
