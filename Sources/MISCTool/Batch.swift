import Foundation

/// Runs one job per input, keeps going when one fails, shows progress on a terminal, and ends
/// with a summary. A batch with any failure exits non-zero; finished outputs stay written.
struct Batch {
  let verb: String
  let inputs: [String]

  /// Runs `body` for each input in order. Returns normally only if every input succeeded.
  func run(_ body: (String) async throws -> Void) async throws {
    let showProgress = inputs.count > 1 && isatty(STDERR_FILENO) != 0
    var failures: [(String, any Error)] = []
    for (index, input) in inputs.enumerated() {
      if showProgress {
        Console.progress("[\(index + 1)/\(inputs.count)] \(verb) \(input)")
      }
      do {
        try await body(input)
      } catch {
        if showProgress { Console.progress(nil) }
        let message = Console.describe(error)
        Console.error(message.hasPrefix(input) ? message : "\(input): \(message)")
        failures.append((input, error))
      }
    }
    if showProgress { Console.progress(nil) }
    if inputs.count > 1 {
      let done = inputs.count - failures.count
      Console.note("\(done) of \(inputs.count) \(done == 1 ? "file" : "files") done" + (failures.isEmpty ? "" : "; \(failures.count) failed: " + failures.map(\.0).joined(separator: ", ")))
    }
    if !failures.isEmpty { throw ExitCodeError(code: 1) }
  }
}

/// Ends the process with `code` after the batch has already reported its errors.
struct ExitCodeError: Error {
  var code: Int32
}
