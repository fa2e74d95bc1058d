import Foundation

/// `misc bench clip --compare-torch PYTHON`: the PyTorch side of the CLIP bench
/// (Benchmarks/clip/bench_torch.py, same shapes, same cases), run as a child process right after
/// the Swift side at each thread count, with both ratios and the load average.
extension CLIPBench {
  /// The PyTorch bench script, relative to the repository root.
  public static let torchScript = "Benchmarks/clip/bench_torch.py"

  /// One thread count: both sides, their ratios and the machine's load.
  public struct Comparison: Codable, Sendable {
    public var mode: Mode
    public var threads: Int
    public var swift: Timing
    public var torch: Timing
    /// Swift's median wall time over PyTorch's.
    public var wallRatio: Double
    /// Swift's median CPU time over PyTorch's.
    public var cpuRatio: Double
    /// The higher 1-minute load average of before and after the pair (nil where there is none).
    public var loadAverage: Double?
    public var cores: Int
    /// The load is above half the core count (or unknown): the wall ratio is not final; the CPU
    /// ratio at 1 thread is the steadier figure.
    public var loaded: Bool

    public init(swift: Timing, torch: Timing, loadAverage: Double?, cores: Int) {
      mode = swift.mode
      threads = swift.threads
      self.swift = swift
      self.torch = torch
      wallRatio = swift.medianSeconds / torch.medianSeconds
      cpuRatio = swift.cpuMedianSeconds / torch.cpuMedianSeconds
      self.loadAverage = loadAverage
      self.cores = cores
      loaded = loadAverage.map { $0 > Double(cores) / 2 } ?? true
    }

    enum CodingKeys: String, CodingKey {
      case mode, threads, swift, torch, cores, loaded
      case wallRatio = "wall_ratio"
      case cpuRatio = "cpu_ratio"
      case loadAverage = "load_average"
    }
  }

  /// Swift then PyTorch at `threads`, or at 1 and then 2 threads, one side after the other (ViT-B/16's
  /// shapes with random weights on both sides); `each` sees every comparison as soon as it is made.
  /// `python` is a path, or a name looked up on PATH, of a Python with torch and transformers.
  public static func compareWithTorch(python: String, script: String = torchScript, mode: Mode, runs: Int, threads: Int? = nil,
                                      each: (Comparison) -> Void = { _ in }) throws -> [Comparison] {
    guard FileManager.default.fileExists(atPath: script) else {
      throw BenchError("the PyTorch bench script '\(script)' does not exist; run from the repository root or pass its path (--torch-script)")
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    var comparisons: [Comparison] = []
    for count in threads.map({ [$0] }) ?? [1, 2] {
      let before = loadAverages()
      let swift = try measure(mode, runs: runs, threads: count)
      let torch = try torchTiming(python: python, script: script, mode: mode, runs: runs, threads: count)
      let after = loadAverages()
      let comparison = Comparison(swift: swift, torch: torch, loadAverage: [before, after].compactMap { $0?[0] }.max(), cores: cores)
      each(comparison)
      comparisons.append(comparison)
    }
    return comparisons
  }

  /// Runs `script --threads N --runs R --mode M --json` with `python` and reads its timing.
  public static func torchTiming(python: String, script: String = torchScript, mode: Mode, runs: Int, threads: Int) throws -> Timing {
    let process = Process()
    let arguments = [script, "--threads", String(threads), "--runs", String(runs), "--mode", mode.rawValue, "--json"]
    if python.contains("/") {
      process.executableURL = URL(fileURLWithPath: python)
      process.arguments = arguments
    } else {
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = [python] + arguments
    }
    let output = Pipe()
    process.standardOutput = output
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { throw BenchError("cannot run \(python): \(error)") }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let timing = parseTorchTiming(String(decoding: data, as: UTF8.self), mode: mode) else {
      throw BenchError("\(python) \(script) failed (status \(process.terminationStatus)); it needs torch and transformers")
    }
    return timing
  }

  /// bench_torch.py's `--json` line (the last line of its output) as a timing of `mode`.
  static func parseTorchTiming(_ output: String, mode: Mode) -> Timing? {
    struct Line: Decodable {
      var torch: String?
      var attention: String?
      var threads: Int
      var runs: Int
      var median_s: Double
      var min_s: Double
      var cpu_median_s: Double
    }
    guard let last = output.split(whereSeparator: \.isNewline).last,
          let line = try? JSONDecoder().decode(Line.self, from: Data(last.utf8)) else { return nil }
    let model = "transformers ViT-B/16, torch \(line.torch ?? "?"), \(line.attention ?? "eager") attention"
    return Timing(model: model, mode: mode, threads: line.threads, runs: line.runs, medianSeconds: line.median_s,
                  minSeconds: line.min_s, cpuMedianSeconds: line.cpu_median_s)
  }

  /// The 1-, 5- and 15-minute load averages from /proc/loadavg (nil where there is none).
  public static func loadAverages() -> [Double]? {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)).flatMap(loadAverages(from:))
  }

  /// The first three fields of a /proc/loadavg line.
  static func loadAverages(from text: String) -> [Double]? {
    let values = text.split(separator: " ").prefix(3).compactMap { Double($0) }
    return values.count == 3 ? values : nil
  }
}
