import Foundation

/// The one retry and backoff policy of MISC's HTTP clients: which failures deserve another
/// attempt, how long to wait before it (exponential backoff, or the server's `Retry-After` on
/// 429 and 503), and how long a server that says it is busy is waited for.
struct RetryPolicy: Sendable, Hashable {
  /// Attempts per request, the first included. Busy retries do not count when `busyDeadline`
  /// is set.
  var maxAttempts: Int
  /// The backoff before the first retry, in seconds; it doubles after each.
  var baseDelay: Double
  /// The longest backoff, in seconds.
  var maxDelay: Double
  /// Whether each backoff is scaled by a random 0.5–1, so that clients that failed together do
  /// not all come back at once.
  var jitter: Bool
  /// Whether a request that timed out is sent again: not when its work would start over from
  /// scratch, as a diffusion pass would.
  var retriesTimeouts: Bool
  /// When set, a busy server (429, or 503 with `Retry-After`) is asked again, outside
  /// `maxAttempts`, until this many seconds after the first attempt.
  var busyDeadline: Double?
  /// The longest wait a `Retry-After` may impose, in seconds.
  var maxRetryAfter: Double

  /// What to do after an attempt that got no 2xx answer.
  enum Decision: Sendable, Hashable {
    /// Wait `delay` seconds, then try again; a `busy` retry does not count in `maxAttempts`.
    case retry(delay: Double, busy: Bool)
    /// Give up; `stillBusy` when the server was still busy at the busy deadline.
    case stop(stillBusy: Bool)
  }

  /// A retry about to be made, for the client's log.
  struct Retry: Sendable, Hashable {
    /// What the attempt got.
    var outcome: HTTPTransport.Outcome
    /// The wait before the next attempt, in seconds.
    var delay: Double
    var busy: Bool
    /// The retry's number, from 1; busy retries are not numbered.
    var number: Int
    /// The retries `maxAttempts` allows.
    var allowed: Int

    /// One line for the log, naming `server` (e.g. "the LMM at http://…/v1/chat/completions").
    func line(server: String) -> String {
      let wait = String(format: "%.1f", delay)
      switch outcome {
      case let .answer(response) where busy:
        return "\(server) is busy (HTTP \(response.status)); retry in \(wait) s"
      case let .answer(response):
        let message = ServerErrorBody.message(in: response.body).map { ": \($0)" } ?? ""
        return "\(server) answered HTTP \(response.status)\(message); retry \(number) of \(allowed) in \(wait) s"
      case .timedOut:
        return "\(server) did not answer in time; retry \(number) of \(allowed) in \(wait) s"
      case let .unreachable(reason):
        return "cannot reach \(server): \(reason); retry \(number) of \(allowed) in \(wait) s"
      }
    }
  }

  /// A request the policy gave up on.
  struct Failure: Error, Sendable, Hashable {
    /// The last attempt's outcome, never a 2xx answer.
    var outcome: HTTPTransport.Outcome
    /// Attempts made, busy retries included.
    var attempts: Int
    /// Whether the server was still busy at the busy deadline.
    var stillBusy: Bool
  }

  /// Sleeps for real; clients take a replacement so tests need not wait.
  static let taskSleep: @Sendable (Double) async throws -> Void = { seconds in
    try await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1_000_000_000))
  }

  /// Whether an answer with this status may succeed when asked again: 408, 429, and 5xx except
  /// 501 (the server does not implement what was asked).
  static func isRetryable(status: Int) -> Bool {
    status == 408 || status == 429 || (status >= 500 && status != 501)
  }

  /// Makes attempts until one gets a 2xx answer, which it returns, waiting between them as
  /// `decide` says and telling `onRetry` first. Throws `Failure` when the policy gives up, and
  /// whatever `attempt` or `sleep` throws (cancellation).
  func run(sleep: @Sendable (Double) async throws -> Void, now: @Sendable () -> Date,
           onRetry: (Retry) -> Void, _ attempt: () async throws -> HTTPTransport.Outcome) async throws -> HTTPTransport.Response {
    let started = now()
    var counted = 1
    var busyRetries = 0
    while true {
      try Task.checkCancellation()
      let outcome = try await attempt()
      if case let .answer(response) = outcome, (200..<300).contains(response.status) { return response }
      let time = now()
      switch decide(outcome, attempt: counted, busyRetries: busyRetries, elapsed: time.timeIntervalSince(started),
                    now: time, unit: .random(in: 0...1)) {
      case let .stop(stillBusy):
        throw Failure(outcome: outcome, attempts: counted + busyRetries, stillBusy: stillBusy)
      case let .retry(delay, busy):
        onRetry(Retry(outcome: outcome, delay: delay, busy: busy, number: counted, allowed: maxAttempts - 1))
        try await sleep(delay)
        if busy { busyRetries += 1 } else { counted += 1 }
      }
    }
  }

  /// The decision after `outcome`, which came from counted attempt `attempt` (from 1), after
  /// `busyRetries` busy retries and `elapsed` seconds since the first attempt. `now` reads
  /// `Retry-After` dates; `unit` (0...1) picks the jitter.
  func decide(_ outcome: HTTPTransport.Outcome, attempt: Int, busyRetries: Int, elapsed: Double, now: Date,
              unit: Double) -> Decision {
    var retryAfter: Double? = nil
    switch outcome {
    case .timedOut:
      guard retriesTimeouts else { return .stop(stillBusy: false) }
    case .unreachable:
      break
    case let .answer(response):
      guard Self.isRetryable(status: response.status) else { return .stop(stillBusy: false) }
      if response.status == 429 || response.status == 503 {
        retryAfter = response.headers["retry-after"].flatMap { Self.retryAfter($0, now: now) }.map { min(maxRetryAfter, $0) }
      }
      if let busyDeadline, response.status == 429 || retryAfter != nil {
        let delay = retryAfter ?? backoff(retry: busyRetries + 1, unit: unit)
        return elapsed + delay <= busyDeadline ? .retry(delay: delay, busy: true) : .stop(stillBusy: true)
      }
    }
    guard attempt < maxAttempts else { return .stop(stillBusy: false) }
    return .retry(delay: retryAfter ?? backoff(retry: attempt, unit: unit), busy: false)
  }

  /// The wait before retry `retry` (from 1): `baseDelay` doubled each retry, at most
  /// `maxDelay`, then with `jitter` scaled by 0.5 + `unit` / 2.
  func backoff(retry: Int, unit: Double) -> Double {
    let full = min(maxDelay, baseDelay * pow(2, Double(min(max(0, retry - 1), 32))))
    return jitter ? full * (0.5 + 0.5 * min(1, max(0, unit))) : full
  }

  /// Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date (IMF-fixdate,
  /// RFC 850 or asctime); nil if it is neither.
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
}
