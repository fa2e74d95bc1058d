import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request to the diffusion worker, bounded by a deadline on the whole exchange
/// (URLSession's own timeout only counts idle time), and cancelled with its task.
enum HTTPExchange {
  enum Failure: Error {
    case timedOut
    case unreachable(reason: String)
  }

  /// GET (no body) or POST JSON: the status, the lower-cased headers and the body of the answer.
  static func perform(url: URL, body: Data?, timeout: Double) async throws -> (Int, [String: String], Data) {
    var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout + 1)
    request.httpMethod = body == nil ? "GET" : "POST"
    if let body {
      request.httpBody = body
      request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    request.setValue("misc/0.1 (MISC semantic image codec)", forHTTPHeaderField: "User-Agent")
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = timeout + 1
    configuration.timeoutIntervalForResource = timeout + 1
    let session = URLSession(configuration: configuration)
    defer { session.finishTasksAndInvalidate() }

    let watch = DeadlineTransfer()
    let outcome: Result<(Int, [String: String], Data), any Error> = await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        let task = session.dataTask(with: request) { data, response, error in
          if let error {
            continuation.resume(returning: .failure(error))
          } else if let response = response as? HTTPURLResponse {
            var headers: [String: String] = [:]
            for (key, value) in response.allHeaderFields {
              if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
            }
            continuation.resume(returning: .success((response.statusCode, headers, data ?? Data())))
          } else {
            continuation.resume(returning: .failure(URLError(.badServerResponse)))
          }
        }
        watch.start(task, deadline: timeout)
      }
    } onCancel: {
      watch.cancel(timedOut: false)
    }
    watch.finish()
    switch outcome {
    case let .success(answer):
      return answer
    case let .failure(error):
      if Task.isCancelled { throw CancellationError() }
      if watch.timedOut || (error as? URLError)?.code == .timedOut { throw Failure.timedOut }
      throw Failure.unreachable(reason: reason(error))
    }
  }

  private static func reason(_ error: any Error) -> String {
    guard let error = error as? URLError else { return "\(error)" }
    switch error.code {
    case .cannotConnectToHost: return "connection refused (is the worker running?)"
    case .cannotFindHost, .dnsLookupFailed: return "host not found"
    case .networkConnectionLost: return "the connection was lost"
    case .notConnectedToInternet: return "no network connection"
    case .badServerResponse: return "a malformed HTTP response"
    default: return "URL error \(error.code.rawValue)"
    }
  }
}
