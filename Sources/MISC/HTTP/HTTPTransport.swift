import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The one bridge from async code to URLSession, for the LMM client and the diffusion worker
/// client: one request, bounded by a deadline on the whole exchange and cancelled with its
/// task. Any HTTP status is an answer; what to retry is `RetryPolicy`'s business.
struct HTTPTransport: Sendable {
  /// What to send: a GET without a body, a POST of JSON with one.
  struct Request: Sendable {
    var url: URL
    var body: Data?
    /// Extra headers, e.g. `Authorization`.
    var headers: [String: String] = [:]
    /// The longest the whole exchange may take, in seconds.
    var timeout: Double
  }

  /// An answer of any status.
  struct Response: Sendable, Hashable {
    var status: Int
    /// Header names in lower case.
    var headers: [String: String]
    var body: Data
  }

  /// How one exchange ended.
  enum Outcome: Sendable, Hashable {
    case answer(Response)
    /// No answer within the request's timeout.
    case timedOut
    /// No connection, or the connection broke: refused, DNS, TLS, reset…
    case unreachable(reason: String)
  }

  /// Every MISC request says what sent it.
  static let userAgent = "misc/0.1 (MISC semantic image codec)"

  private let session: URLSession

  /// A transport on its own ephemeral session: no cache, no cookies, and no per-host limit
  /// below `--jobs`' 64, since a request queued in the client would spend its deadline waiting.
  init() {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.urlCache = nil
    configuration.httpCookieStorage = nil
    configuration.httpMaximumConnectionsPerHost = 256
    session = URLSession(configuration: configuration)
  }

  /// Sends `request` once. Throws only `CancellationError`, when the calling task is cancelled.
  func send(_ request: Request) async throws -> Outcome {
    // URLSession's own timeout counts idle time only, and Foundation on Linux rounds a
    // sub-second one down to none: `DeadlineTransfer` enforces the deadline, this is a backstop.
    var urlRequest = URLRequest(url: request.url, cachePolicy: .reloadIgnoringLocalCacheData,
                                timeoutInterval: (request.timeout + 1).rounded(.up))
    urlRequest.httpMethod = request.body == nil ? "GET" : "POST"
    if let body = request.body {
      urlRequest.httpBody = body
      urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    urlRequest.setValue(Self.userAgent, forHTTPHeaderField: "User-Agent")
    for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }

    let transfer = DeadlineTransfer()
    let result: Result<Response, any Error> = await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        let task = session.dataTask(with: urlRequest) { data, response, error in
          if let error {
            continuation.resume(returning: .failure(error))
          } else if let response = response as? HTTPURLResponse {
            var headers: [String: String] = [:]
            for (key, value) in response.allHeaderFields {
              if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
            }
            continuation.resume(returning: .success(Response(status: response.statusCode, headers: headers, body: data ?? Data())))
          } else {
            continuation.resume(returning: .failure(URLError(.badServerResponse)))
          }
        }
        transfer.start(task, deadline: request.timeout)
      }
    } onCancel: {
      transfer.cancel(timedOut: false)
    }
    transfer.finish()
    switch result {
    case let .success(response):
      return .answer(response)
    case let .failure(error):
      if Task.isCancelled { throw CancellationError() }
      if transfer.timedOut || (error as? URLError)?.code == .timedOut { return .timedOut }
      return .unreachable(reason: Self.reason(error))
    }
  }

  /// Why no connection was made, in words.
  private static func reason(_ error: any Error) -> String {
    guard let error = error as? URLError else { return "\(error)" }
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
}
