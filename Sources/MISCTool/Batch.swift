import Foundation

/// Runs one job per input, up to `jobs` at a time, keeps going when one fails, shows progress
/// on a terminal, and ends with a summary. A batch with any failure exits non-zero; finished
/// outputs stay written (each job writes its own output atomically).
struct Batch {
  let verb: String
  let inputs: [String]
  /// How many inputs run concurrently (a sliding window: a new one starts as one finishes).
  var jobs: Int = 1

  /// Runs `body` for each input. Returns normally only if every input succeeded.
  func run(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
    let showProgress = inputs.count > 1 && isatty(STDERR_FILENO) != 0
    var failures: [(index: Int, input: String)] = []
    let inputs = self.inputs, verb = self.verb
    await withTaskGroup(of: (Int, (any Error)?).self) { group in
      var next = 0
      var done = 0
      func launch() {
        let index = next, input = inputs[index]
        next += 1
        if showProgress {
          Console.progress("[\(done + 1)/\(inputs.count)] \(verb) \(input)")
        }
        group.addTask {
          do {
            try await body(input)
            return (index, nil)
          } catch {
            return (index, error)
          }
        }
      }
      while next < min(max(1, jobs), inputs.count) { launch() }
      while let (index, error) = await group.next() {
        done += 1
        if let error {
          if showProgress { Console.progress(nil) }
          let input = inputs[index]
          let message = Console.describe(error)
          Console.error(message.hasPrefix(input) ? message : "\(input): \(message)")
          failures.append((index, input))
        }
        if next < inputs.count { launch() }
      }
    }
    if showProgress { Console.progress(nil) }
    failures.sort { $0.index < $1.index }
    if inputs.count > 1 {
      let done = inputs.count - failures.count
      Console.note("\(done) of \(inputs.count) \(done == 1 ? "file" : "files") done" + (failures.isEmpty ? "" : "; \(failures.count) failed: " + failures.map(\.input).joined(separator: ", ")))
    }
    if !failures.isEmpty { throw ExitCodeError(code: 1) }
  }
}

/// Ends the process with `code` after the batch has already reported its errors.
struct ExitCodeError: Error {
  var code: Int32
}
