import ArgumentParser
import Foundation
import MISCNeural

/// `misc bench clip --compare-torch PYTHON`: the PyTorch side of the CLIP bench, run by this process
/// right after the Swift side at each thread count, with the ratio and the load average.
struct TorchComparisonOptions: ParsableArguments {
  @Option(name: .customLong("compare-torch"), help: ArgumentHelp(
    "A Python with torch and transformers: time Benchmarks/clip/bench_torch.py after the Swift side and print the ratio.",
    discussion: "Runs at --threads, or at 1 and then 2 threads, one side after the other; reports the load average, which makes a ratio unreliable when above about half the core count."),
    completion: .file())
  var python: String?

  @Option(name: .customLong("torch-script"), help: "The PyTorch bench script.", completion: .file())
  var script = "Benchmarks/clip/bench_torch.py"
}

/// Wall and CPU time of repeated forwards.
struct ForwardTiming {
  /// Median wall-clock seconds.
  var median: Double
  /// Fastest wall-clock seconds.
  var minimum: Double
  /// Median process CPU seconds (every thread), which other load disturbs far less than wall time.
  var cpuMedian: Double
  var runs: Int

  /// One warm-up, then `runs` timed calls of `body`.
  static func measure(runs: Int, _ body: () throws -> Void) rethrows -> ForwardTiming {
    try body()
    var wall: [Double] = [], cpu: [Double] = []
    for _ in 0..<runs {
      let (start, startCPU) = (DispatchTime.now().uptimeNanoseconds, processCPUSeconds())
      try body()
      wall.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
      cpu.append(processCPUSeconds() - startCPU)
    }
    return ForwardTiming(median: Self.median(wall), minimum: wall.min() ?? 0, cpuMedian: Self.median(cpu), runs: runs)
  }

  static func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
  }

  static func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }
}

/// The 1-, 5- and 15-minute load averages from /proc/loadavg (nil where there is none).
func loadAverages() -> [Double]? {
  guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
  let values = text.split(separator: " ").prefix(3).compactMap { Double($0) }
  return values.count == 3 ? values : nil
}

extension BenchCLIP {
  /// The case's name for bench_torch.py's --mode.
  var torchMode: String { text ? "text" : surgery ? "surgery" : "image" }

  /// Swift then PyTorch at each thread count, one after the other, with the ratios and the load.
  func compareWithTorch(python: String) throws {
    guard FileManager.default.fileExists(atPath: torch.script) else {
      throw ValidationError("--torch-script '\(torch.script)' does not exist; run from the repository root or pass the path")
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    var rows: [String] = []
    for count in threads.map({ [$0] }) ?? [1, 2] {
      let before = loadAverages()
      Gemm.threads = count
      let swift = try measureSwift()
      let theirs = try runTorch(python: python, threads: count)
      let after = loadAverages()
      let load = [before, after].compactMap { $0?[0] }.max()
      let loaded = load.map { $0 > Double(cores) / 2 } ?? true
      let loadText = load.map { String(format: "%.2f", $0) } ?? "unknown"
      rows.append(String(format: "%@ at %d thread%@: swift median %.4f s (CPU %.4f s), torch median %.4f s (CPU %.4f s); ratio swift/torch %.2f wall, %.2f CPU; load average %@ on %d cores%@",
                         torchMode as NSString, count, count == 1 ? "" : "s", swift.median, swift.cpuMedian, theirs.median, theirs.cpuMedian,
                         swift.median / theirs.median, swift.cpuMedian / theirs.cpuMedian, loadText as NSString, cores,
                         loaded ? " (LOADED: the wall ratio is not final; the CPU ratio at 1 thread is the steadier figure)" : ""))
      Console.out(rows.last!)
    }
  }

  private func runTorch(python: String, threads: Int) throws -> ForwardTiming {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python.contains("/") ? python : "/usr/bin/env")
    let arguments = [torch.script, "--threads", String(threads), "--runs", String(runs), "--mode", torchMode, "--json"]
    process.arguments = python.contains("/") ? arguments : [python] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
          let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          let median = object["median_s"] as? Double, let minimum = object["min_s"] as? Double,
          let cpu = object["cpu_median_s"] as? Double else {
      throw CLIError("\(python) \(torch.script) failed (status \(process.terminationStatus)); it needs torch and transformers")
    }
    return ForwardTiming(median: median, minimum: minimum, cpuMedian: cpu, runs: runs)
  }
}
