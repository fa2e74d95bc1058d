import Foundation

/// What one finished input adds to a batch's totals.
struct Tally: Sendable {
  var bytesIn = 0
  var bytesOut = 0
  /// Pixels of the image (for the mean bpp of the .misc files).
  var pixels = 0
  /// I_ref PSNR, when the command measured it.
  var referencePSNR: Double?
}

/// Runs one job per input, up to `jobs` at a time, keeps going when one fails, shows progress
/// on a terminal, and ends with a summary and totals. A batch with any failure exits non-zero;
/// finished outputs stay written (each job writes its own output atomically).
struct Batch {
  let verb: String
  let work: [OutputJob]
  /// How many inputs run concurrently (a sliding window: a new one starts as one finishes).
  var jobs: Int = 1

  init(verb: String, inputs: [String], jobs: Int = 1) {
    self.init(verb: verb, work: inputs.map { OutputJob(input: $0, output: "") }, jobs: jobs)
  }

  init(verb: String, work: [OutputJob], jobs: Int = 1) {
    self.verb = verb
    self.work = work
    self.jobs = jobs
  }

  /// Runs `body` for each input. Returns normally only if every input succeeded.
  func run(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
    try await run { (job: OutputJob) -> Tally? in
      try await body(job.input)
      return nil
    }
  }

  /// Runs `body` for each job not skipped (skipped ones count as done); `body` may return what
  /// the job adds to the totals printed at the end of a batch of several files.
  func run(_ body: @escaping @Sendable (OutputJob) async throws -> Tally?) async throws {
    let start = Date()
    let skipped = work.filter(\.skip)
    for job in skipped { Console.note("note: \(job.output) exists: skipping \(job.input)") }
    let pending = work.filter { !$0.skip }
    let total = work.count
    let showProgress = total > 1 && isatty(STDERR_FILENO) != 0
    var failures: [(index: Int, input: String)] = []
    var tallies: [Tally] = []
    let verb = self.verb
    await withTaskGroup(of: (Int, Result<Tally?, any Error>).self) { group in
      var next = 0
      var done = skipped.count
      func launch() {
        let index = next, job = pending[index]
        next += 1
        if showProgress {
          Console.progress("[\(done + 1)/\(total)] \(verb) \(job.input)")
        }
        group.addTask {
          do {
            return (index, .success(try await body(job)))
          } catch {
            return (index, .failure(error))
          }
        }
      }
      while next < min(max(1, jobs), pending.count) { launch() }
      while let (index, result) = await group.next() {
        done += 1
        switch result {
        case let .success(tally):
          if let tally { tallies.append(tally) }
        case let .failure(error):
          let input = pending[index].input
          let message = Console.describe(error)
          Console.error(message.hasPrefix(input) ? message : "\(input): \(message)")
          failures.append((index, input))
        }
        if next < pending.count { launch() }
      }
    }
    if showProgress { Console.progress(nil) }
    failures.sort { $0.index < $1.index }
    if total > 1 {
      let done = total - failures.count
      var summary = "\(done) of \(total) \(done == 1 ? "file" : "files") done"
      if !skipped.isEmpty { summary += " (\(skipped.count) skipped: output exists)" }
      if !failures.isEmpty { summary += "; \(failures.count) failed: " + failures.map(\.input).joined(separator: ", ") }
      Console.note(summary)
      if !tallies.isEmpty { Console.note(Self.totals(tallies, seconds: Date().timeIntervalSince(start))) }
    }
    if !failures.isEmpty { throw ExitCodeError(code: 1) }
  }

  /// "totals: 24 files, 14.2 MB in, 25.3 KB out, mean 0.0224 bpp, mean I_ref PSNR 21.05 dB, 3.2 s"
  static func totals(_ tallies: [Tally], seconds: Double) -> String {
    let bytesIn = tallies.reduce(0) { $0 + $1.bytesIn }, bytesOut = tallies.reduce(0) { $0 + $1.bytesOut }
    var parts = ["\(tallies.count) \(tallies.count == 1 ? "file" : "files")", "\(byteCount(bytesIn)) in", "\(byteCount(bytesOut)) out"]
    let rated = tallies.filter { $0.pixels > 0 }
    if !rated.isEmpty {
      let bpp = rated.reduce(0.0) { $0 + Double($1.bytesOut * 8) / Double($1.pixels) } / Double(rated.count)
      parts.append("mean \(format(bpp, 4)) bpp")
    }
    let psnrs = tallies.compactMap(\.referencePSNR).filter(\.isFinite)
    if !psnrs.isEmpty { parts.append("mean I_ref PSNR \(format(psnrs.reduce(0, +) / Double(psnrs.count), 2)) dB") }
    parts.append(String(format: "%.1f s", seconds))
    return "totals: " + parts.joined(separator: ", ")
  }

  /// 1234 -> "1.2 KB" (decimal units, as file managers show them).
  static func byteCount(_ bytes: Int) -> String {
    if bytes < 1000 { return "\(bytes) B" }
    let units = ["KB", "MB", "GB", "TB"]
    var value = Double(bytes) / 1000, unit = 0
    while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
    return String(format: "%.1f", value) + " " + units[unit]
  }
}

/// Ends the process with `code` after the batch has already reported its errors.
struct ExitCodeError: Error {
  var code: Int32
}
