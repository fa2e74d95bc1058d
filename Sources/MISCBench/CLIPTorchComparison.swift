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
    /// It counts the bench's own threads, so a quiet machine shows about the thread count.
    public var loadAverage: Double?
    /// The cores other processes kept busy on average while the pair ran: the machine's busy CPU
    /// time (/proc/stat) less this process's and its children's, over the wall time (nil where
    /// /proc/stat is missing).
    public var otherCores: Double?
    public var cores: Int
    /// Other work kept more than `loadedOtherCores` busy (or, without /proc/stat, the load
    /// average is above half the core count, or unknown): the wall ratio is not final; the CPU
    /// ratio at 1 thread is the steadier figure.
    public var loaded: Bool

    /// Other processes' average busy cores above which a comparison is marked loaded.
    public static let loadedOtherCores = 0.25

    public init(swift: Timing, torch: Timing, loadAverage: Double?, otherCores: Double? = nil, cores: Int) {
      mode = swift.mode
      threads = swift.threads
      self.swift = swift
      self.torch = torch
      wallRatio = swift.medianSeconds / torch.medianSeconds
      cpuRatio = swift.cpuMedianSeconds / torch.cpuMedianSeconds
      self.loadAverage = loadAverage
      self.otherCores = otherCores
      self.cores = cores
      if let otherCores {
        loaded = otherCores > Self.loadedOtherCores
      } else {
        loaded = loadAverage.map { $0 > Double(cores) / 2 } ?? true
      }
    }

    enum CodingKeys: String, CodingKey {
      case mode, threads, swift, torch, cores, loaded
      case wallRatio = "wall_ratio"
      case cpuRatio = "cpu_ratio"
      case loadAverage = "load_average"
      case otherCores = "other_cores"
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
      let usage = CPUUsage.now()
      let swift = try measure(mode, runs: runs, threads: count)
      let torch = try torchTiming(python: python, script: script, mode: mode, runs: runs, threads: count)
      let others = CPUUsage.now().flatMap { end in usage.flatMap { end.otherCores(since: $0) } }
      let after = loadAverages()
      let comparison = Comparison(swift: swift, torch: torch, loadAverage: [before, after].compactMap { $0?[0] }.max(),
                                  otherCores: others, cores: cores)
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

/// The machine's busy CPU time and this process's own (children included) at one moment: two of
/// them give the cores that other processes kept busy in between, which a load average cannot
/// tell apart from the bench's own threads.
struct CPUUsage {
  /// Busy seconds of every core together (user, nice, system, irq, softirq, steal).
  var machineBusySeconds: Double
  /// CPU seconds of this process and its waited-for children.
  var ownSeconds: Double
  var wallSeconds: Double

  static func now() -> CPUUsage? {
    guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
          let busy = machineBusySeconds(procStat: text) else { return nil }
    var mine = rusage(), children = rusage()
    getrusage(RUSAGE_SELF.rawValue, &mine)
    getrusage(RUSAGE_CHILDREN.rawValue, &children)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    let own = seconds(mine.ru_utime) + seconds(mine.ru_stime) + seconds(children.ru_utime) + seconds(children.ru_stime)
    return CPUUsage(machineBusySeconds: busy, ownSeconds: own, wallSeconds: Date().timeIntervalSince1970)
  }

  /// The aggregate `cpu` line of /proc/stat as busy seconds (clock ticks of 1/100 s).
  static func machineBusySeconds(procStat text: String) -> Double? {
    guard let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cpu ") }) else { return nil }
    let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
    guard ticks.count >= 8 else { return nil }
    // user nice system idle iowait irq softirq steal [guest guest_nice, already inside user/nice]
    let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
    return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
  }

  /// Average cores that other processes kept busy since `start` (never below 0).
  func otherCores(since start: CPUUsage) -> Double? {
    let wall = wallSeconds - start.wallSeconds
    guard wall > 0 else { return nil }
    return max(0, (machineBusySeconds - start.machineBusySeconds) - (ownSeconds - start.ownSeconds)) / wall
  }
}
