import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One in-flight URLSession task with a deadline on the whole exchange, and cancellation from
/// the caller. URLSession's own timeout counts idle time only (and Foundation on Linux rounds a
/// sub-second one down to none), so a watchdog task bounds the exchange instead. Used by
/// `HTTPTransport`.
final class DeadlineTransfer: @unchecked Sendable {
  private let lock = NSLock()
  private var task: URLSessionDataTask?
  private var watchdog: Task<Void, Never>?
  private var cancelled = false
  private var expired = false

  /// Whether the deadline, not the caller, cancelled the task.
  var timedOut: Bool { lock.withLock { expired } }

  /// Resume `task`, to be cancelled after `deadline` seconds (or at once if already cancelled).
  func start(_ task: URLSessionDataTask, deadline: Double) {
    let alreadyCancelled = lock.withLock {
      self.task = task
      return cancelled
    }
    if alreadyCancelled { task.cancel() }
    let watchdog = Task { [weak self] in
      try? await Task.sleep(nanoseconds: UInt64(max(0.001, deadline) * 1e9))
      guard !Task.isCancelled else { return }
      self?.cancel(timedOut: true)
    }
    lock.withLock { self.watchdog = watchdog }
    task.resume()
  }

  func cancel(timedOut: Bool) {
    let task = lock.withLock {
      cancelled = true
      if timedOut { expired = true }
      return self.task
    }
    task?.cancel()
  }

  /// Stop the watchdog once the exchange has ended.
  func finish() {
    lock.withLock { watchdog }?.cancel()
  }
}
