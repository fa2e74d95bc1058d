/// Why the LMM encoder could not describe an image: what failed, where, and the server's own
/// message when it sent one. Descriptions never contain the API key.
public enum DescriberError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The base URL is not an http(s) URL.
  case invalidURL(String)
  /// 400: the server refused the request itself.
  case badRequest(url: String, message: String?)
  /// 401: the key was missing or rejected.
  case unauthorized(url: String, keySent: Bool, message: String?)
  /// 403: the key is valid but may not use this model or endpoint.
  case forbidden(url: String, model: String, message: String?)
  /// 404: no such model, or the URL does not lead to a chat-completions endpoint.
  case modelNotFound(url: String, model: String, message: String?)
  /// Another status that is not retried (or a retried one, when the attempts ran out).
  case httpStatus(url: String, status: Int, attempts: Int, message: String?)
  /// Connection refused, DNS failure, reset…, after every attempt.
  case unreachable(url: String, attempts: Int, reason: String)
  /// No answer within the timeout, after every attempt.
  case timedOut(url: String, attempts: Int, seconds: Double)
  /// A 2xx answer that is not a chat completion.
  case malformedResponse(url: String, reason: String, excerpt: String)
  /// The model's answer could not be repaired into semantics, even after a corrective retry.
  case unusableAnswer(model: String, reason: String, excerpt: String)

  public var description: String {
    switch self {
    case let .invalidURL(url):
      return "the LMM URL '\(url)' is not an http(s) URL; give e.g. --lmm-url http://localhost:11434/v1"
    case let .badRequest(url, message):
      return "the request was refused (400) by \(url)" + Self.quote(message)
    case let .unauthorized(url, keySent, message):
      return keySent
        ? "the API key was rejected (401) by \(url)" + Self.quote(message) + "; check MISC_LMM_API_KEY or OPENAI_API_KEY"
        : "\(url) requires an API key (401)" + Self.quote(message) + "; set MISC_LMM_API_KEY or OPENAI_API_KEY"
    case let .forbidden(url, model, message):
      return "access to model '\(model)' was denied (403) by \(url)" + Self.quote(message)
    case let .modelNotFound(url, model, message):
      return "model '\(model)' not found at \(url) (404)" + Self.quote(message)
        + "; check --lmm-model/MISC_LMM_MODEL and --lmm-url/MISC_LMM_URL (OpenAI-compatible servers usually end in /v1)"
    case let .httpStatus(url, status, attempts, message):
      return "\(url) answered HTTP \(status)" + Self.after(attempts) + Self.quote(message)
    case let .unreachable(url, attempts, reason):
      return "cannot reach the LMM at \(url)" + Self.after(attempts) + ": \(reason)"
    case let .timedOut(url, attempts, seconds):
      return "the LMM at \(url) did not answer within \(Self.seconds(seconds))" + Self.after(attempts) + "; raise --timeout"
    case let .malformedResponse(url, reason, excerpt):
      return "\(url) sent something that is not a chat completion (\(reason)): \"\(excerpt)\""
    case let .unusableAnswer(model, reason, excerpt):
      return "model '\(model)' gave no usable description (\(reason)), even after a corrective retry; it answered: \"\(excerpt)\""
    }
  }

  private static func quote(_ message: String?) -> String {
    guard let message, !message.isEmpty else { return "" }
    return ": \(message)"
  }

  private static func after(_ attempts: Int) -> String {
    attempts > 1 ? " (after \(attempts) attempts)" : ""
  }

  private static func seconds(_ value: Double) -> String {
    value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
  }
}
