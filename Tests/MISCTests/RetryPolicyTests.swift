import Foundation
import Testing
@testable import MISC

/// The shared retry policy: its schedule, what it retries, `Retry-After`, the busy deadline, and
/// the loop that runs it, on scripted outcomes (no network, no real sleeping).
@Suite struct RetryPolicyTests {
  /// The describer's settings (jittered, timeouts retried, 429 counted).
  static let lmm = RetryPolicy(maxAttempts: 4, baseDelay: 1, maxDelay: 30, jitter: true, retriesTimeouts: true,
                               busyDeadline: nil, maxRetryAfter: 30)
  /// The diffusion worker client's settings (fixed schedule, no retry after a timeout, busy waits).
  static let worker = RetryPolicy(maxAttempts: 4, baseDelay: 0.5, maxDelay: 8, jitter: false, retriesTimeouts: false,
                                  busyDeadline: 900, maxRetryAfter: 120)
  /// Sun, 06 Nov 1994 08:49:37 GMT
  static let now = Date(timeIntervalSince1970: 784_111_777)

  static func answer(_ status: Int, retryAfter: String? = nil, body: String = "") -> HTTPTransport.Outcome {
    .answer(HTTPTransport.Response(status: status, headers: retryAfter.map { ["retry-after": $0] } ?? [:], body: Data(body.utf8)))
  }

  func decide(_ policy: RetryPolicy, _ outcome: HTTPTransport.Outcome, attempt: Int = 1, busyRetries: Int = 0,
              elapsed: Double = 0, unit: Double = 1) -> RetryPolicy.Decision {
    policy.decide(outcome, attempt: attempt, busyRetries: busyRetries, elapsed: elapsed, now: Self.now, unit: unit)
  }

  // MARK: - Retry-After

  @Test func retryAfterSecondsAndEveryHTTPDateForm() {
    let now = Self.now
    #expect(RetryPolicy.retryAfter("2", now: now) == 2)
    #expect(RetryPolicy.retryAfter(" 0.5 ", now: now) == 0.5)
    #expect(RetryPolicy.retryAfter("Sun, 06 Nov 1994 08:49:40 GMT", now: now) == 3)  // IMF-fixdate
    #expect(RetryPolicy.retryAfter("Sunday, 06-Nov-94 08:49:47 GMT", now: now) == 10)  // RFC 850
    #expect(RetryPolicy.retryAfter("Sun Nov  6 08:49:42 1994", now: now) == 5)  // asctime
    #expect(RetryPolicy.retryAfter("Sun, 06 Nov 1994 08:49:00 GMT", now: now) == 0, "a date in the past means now")
    #expect(RetryPolicy.retryAfter("-5", now: now) == 0)
    for garbage in ["soon", "", "inf", "nan", "1 second", "Sun, 06 Nov 1994"] {
      #expect(RetryPolicy.retryAfter(garbage, now: now) == nil, "\(garbage)")
    }
  }

  @Test func retryAfterReplacesTheBackoffOn429And503Only() {
    #expect(decide(Self.lmm, Self.answer(429, retryAfter: "7")) == .retry(delay: 7, busy: false))
    #expect(decide(Self.lmm, Self.answer(503, retryAfter: "Sun, 06 Nov 1994 08:49:49 GMT")) == .retry(delay: 12, busy: false))
    #expect(decide(Self.lmm, Self.answer(503, retryAfter: "0")) == .retry(delay: 0, busy: false))
    #expect(decide(Self.lmm, Self.answer(500, retryAfter: "7")) == .retry(delay: 1, busy: false), "500 ignores it")
    #expect(decide(Self.lmm, Self.answer(429, retryAfter: "later")) == .retry(delay: 1, busy: false), "unreadable: backoff")
    #expect(decide(Self.lmm, Self.answer(429, retryAfter: "3600")) == .retry(delay: 30, busy: false), "capped")
    #expect(decide(Self.lmm, Self.answer(429, retryAfter: "7"), attempt: 4) == .stop(stillBusy: false),
            "without a busy deadline a 429 counts as an attempt")
  }

  // MARK: - The schedule

  @Test func theBackoffDoublesUpToTheCapWithoutJitter() {
    #expect((1...7).map { Self.worker.backoff(retry: $0, unit: 0.3) } == [0.5, 1, 2, 4, 8, 8, 8])
    #expect(Self.worker.backoff(retry: 10_000, unit: 0) == 8, "no overflow")
    var zero = Self.worker
    zero.baseDelay = 0
    #expect(zero.backoff(retry: 10_000, unit: 0) == 0, "no NaN")
  }

  @Test func jitterScalesTheBackoffByHalfToWhole() {
    #expect((1...6).map { Self.lmm.backoff(retry: $0, unit: 1) } == [1, 2, 4, 8, 16, 30])
    #expect((1...6).map { Self.lmm.backoff(retry: $0, unit: 0) } == [0.5, 1, 2, 4, 8, 15])
    #expect(Self.lmm.backoff(retry: 3, unit: 0.5) == 3)
  }

  // MARK: - What is retried

  @Test(arguments: [400, 401, 403, 404, 409, 413, 422, 501])
  func answersThatAreNeverRetried(status: Int) {
    #expect(!RetryPolicy.isRetryable(status: status))
    #expect(decide(Self.lmm, Self.answer(status)) == .stop(stillBusy: false))
    #expect(decide(Self.worker, Self.answer(status, retryAfter: "1")) == .stop(stillBusy: false))
  }

  @Test(arguments: [408, 429, 500, 502, 503, 504, 599])
  func answersThatAreRetried(status: Int) {
    #expect(RetryPolicy.isRetryable(status: status))
    #expect(decide(Self.lmm, Self.answer(status), unit: 1) == .retry(delay: 1, busy: false))
    #expect(decide(Self.lmm, Self.answer(status), attempt: 3, unit: 1) == .retry(delay: 4, busy: false))
    #expect(decide(Self.lmm, Self.answer(status), attempt: 4) == .stop(stillBusy: false), "the attempts ran out")
  }

  @Test func connectionErrorsAreRetriedAndTimeoutsOnlyWhereTheWorkWouldNotStartOver() {
    let refused = HTTPTransport.Outcome.unreachable(reason: "connection refused")
    #expect(decide(Self.lmm, refused) == .retry(delay: 1, busy: false))
    #expect(decide(Self.worker, refused, attempt: 2) == .retry(delay: 1, busy: false))
    #expect(decide(Self.worker, refused, attempt: 4) == .stop(stillBusy: false))
    #expect(decide(Self.lmm, .timedOut, attempt: 2) == .retry(delay: 2, busy: false))
    #expect(decide(Self.worker, .timedOut) == .stop(stillBusy: false))
  }

  // MARK: - A busy server and the deadline

  @Test func busyAnswersAreWaitedForOutsideTheAttempts() {
    // 503 with Retry-After and 429 are busy; a 503 without one is a failure like any 5xx.
    #expect(decide(Self.worker, Self.answer(503, retryAfter: "3"), attempt: 4, busyRetries: 50) == .retry(delay: 3, busy: true))
    #expect(decide(Self.worker, Self.answer(429), busyRetries: 0) == .retry(delay: 0.5, busy: true))
    #expect(decide(Self.worker, Self.answer(429), busyRetries: 2) == .retry(delay: 2, busy: true), "backoff by busy retries")
    #expect(decide(Self.worker, Self.answer(503), attempt: 4) == .stop(stillBusy: false))
    #expect(decide(Self.worker, Self.answer(503, retryAfter: "600")) == .retry(delay: 120, busy: true), "capped")
  }

  @Test func theBusyDeadlineCutsOffTheWaitThatWouldCrossIt() {
    let busy = Self.answer(503, retryAfter: "40")
    #expect(decide(Self.worker, busy, elapsed: 860) == .retry(delay: 40, busy: true), "ends exactly at the deadline")
    #expect(decide(Self.worker, busy, elapsed: 860.5) == .stop(stillBusy: true))
    #expect(decide(Self.worker, Self.answer(429), busyRetries: 5, elapsed: 893) == .stop(stillBusy: true), "8 s backoff")
  }

  // MARK: - The loop

  @Test func runRetriesUntilASuccessAndReportsEachRetry() async throws {
    let script = Script([Self.answer(503, body: #"{"error": {"message": "overloaded"}}"#), .unreachable(reason: "connection refused"),
                         .timedOut, Self.answer(200, body: "ok")])
    let clock = FakeClock()
    var retries: [RetryPolicy.Retry] = []
    let response = try await Self.lmm.run(sleep: clock.sleep, now: clock.now, onRetry: { retries.append($0) }) { script.next() }
    #expect(response.body == Data("ok".utf8) && script.calls == 4)
    #expect(retries.map(\.number) == [1, 2, 3] && retries.allSatisfy { $0.allowed == 3 && !$0.busy })
    for (index, retry) in retries.enumerated() {
      let full = pow(2, Double(index))
      #expect(retry.delay >= full / 2 && retry.delay <= full, "retry \(index + 1) waits \(retry.delay) s")
    }
    #expect(retries[0].line(server: "the LMM at http://x/v1") == "the LMM at http://x/v1 answered HTTP 503: overloaded; retry 1 of 3 in "
      + String(format: "%.1f", retries[0].delay) + " s")
    #expect(retries[1].line(server: "S").hasPrefix("cannot reach S: connection refused; retry 2 of 3"))
    #expect(retries[2].line(server: "S").hasPrefix("S did not answer in time; retry 3 of 3"))
  }

  @Test func runGivesUpWithTheLastOutcomeAndEveryAttemptCounted() async throws {
    // Two busy answers (not counted), then 5xx until the four attempts are spent.
    let script = Script([Self.answer(503, retryAfter: "3"), Self.answer(429, retryAfter: "3")]
                        + Array(repeating: Self.answer(500, body: "boom"), count: 9))
    let clock = FakeClock()
    let log = LogRecorder()
    await #expect(throws: RetryPolicy.Failure(outcome: Self.answer(500, body: "boom"), attempts: 6, stillBusy: false)) {
      try await Self.worker.run(sleep: clock.sleep, now: clock.now, onRetry: { log.log($0.line(server: "W")) }) { script.next() }
    }
    #expect(script.calls == 6)
    #expect(log.lines == ["W is busy (HTTP 503); retry in 3.0 s", "W is busy (HTTP 429); retry in 3.0 s",
                      "W answered HTTP 500: boom; retry 1 of 3 in 0.5 s", "W answered HTTP 500: boom; retry 2 of 3 in 1.0 s",
                      "W answered HTTP 500: boom; retry 3 of 3 in 2.0 s"])
  }

  @Test func runStopsAtTheBusyDeadline() async throws {
    var policy = Self.worker
    policy.busyDeadline = 100
    let script = Script(Array(repeating: Self.answer(503, retryAfter: "40"), count: 9))
    let clock = FakeClock()
    await #expect(throws: RetryPolicy.Failure(outcome: Self.answer(503, retryAfter: "40"), attempts: 3, stillBusy: true)) {
      try await policy.run(sleep: clock.sleep, now: clock.now, onRetry: { _ in }) { script.next() }
    }
    #expect(script.calls == 3, "at 0 s, 40 s and 80 s; a wait to 120 s would cross the deadline")
  }

  @Test func runNeverRetriesARefusalAndPassesCancellationThrough() async throws {
    let refused = Script([Self.answer(404), Self.answer(200)])
    let clock = FakeClock()
    await #expect(throws: RetryPolicy.Failure(outcome: Self.answer(404), attempts: 1, stillBusy: false)) {
      try await Self.lmm.run(sleep: clock.sleep, now: clock.now, onRetry: { _ in }) { refused.next() }
    }
    let failing = Script([Self.answer(500), Self.answer(200)])
    await #expect(throws: CancellationError.self) {
      try await Self.lmm.run(sleep: { _ in throw CancellationError() }, now: clock.now, onRetry: { _ in }) { failing.next() }
    }
    #expect(failing.calls == 1)
  }
}

/// Outcomes handed out in order, one per attempt.
private final class Script: @unchecked Sendable {
  private let lock = NSLock()
  private var outcomes: [HTTPTransport.Outcome]
  private var made = 0
  init(_ outcomes: [HTTPTransport.Outcome]) { self.outcomes = outcomes }
  var calls: Int { lock.withLock { made } }

  func next() -> HTTPTransport.Outcome {
    lock.withLock {
      made += 1
      return outcomes.removeFirst()
    }
  }
}
