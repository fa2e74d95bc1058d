import ArgumentParser
import Foundation
import MISCBench

/// `misc bench clip --compare-torch PYTHON`: the options; MISCBench.CLIPBench.compareWithTorch runs
/// both sides.
struct TorchComparisonOptions: ParsableArguments {
  @Option(name: .customLong("compare-torch"), help: ArgumentHelp(
    "A Python with torch and transformers: time Benchmarks/clip/bench_torch.py after the Swift side and print the ratio.",
    discussion: "Runs at --threads, or at 1 and then 2 threads, one side after the other; reports the load average and the cores other processes kept busy meanwhile, and marks a ratio LOADED when that is above a quarter of a core."),
    completion: .file())
  var python: String?

  @Option(name: .customLong("torch-script"), help: "The PyTorch bench script.", completion: .file())
  var script = CLIPBench.torchScript
}

extension BenchCLIP {
  /// Swift then PyTorch at each thread count, one line each as it finishes.
  func compareWithTorch(python: String) throws {
    _ = try CLIPBench.compareWithTorch(python: python, script: torch.script, mode: mode, runs: runs, threads: threads) { comparison in
      Console.out(json ? JSONLine.encode(comparison) : Self.describe(comparison))
    }
  }

  /// One comparison in words.
  static func describe(_ c: CLIPBench.Comparison) -> String {
    let load = c.loadAverage.map { format($0, 2) } ?? "unknown"
    let plural = c.threads == 1 ? "" : "s"
    let swift = "swift median \(format(c.swift.medianSeconds, 4)) s (CPU \(format(c.swift.cpuMedianSeconds, 4)) s)"
    let torch = "torch median \(format(c.torch.medianSeconds, 4)) s (CPU \(format(c.torch.cpuMedianSeconds, 4)) s)"
    let ratios = "ratio swift/torch \(format(c.wallRatio, 2)) wall, \(format(c.cpuRatio, 2)) CPU"
    let others = c.otherCores.map { "; other processes \(format($0, 2)) cores" } ?? ""
    let loaded = c.loaded ? " (LOADED: the wall ratio is not final; the CPU ratio at 1 thread is the steadier figure)" : ""
    return "\(c.mode.rawValue) at \(c.threads) thread\(plural): \(swift), \(torch); \(ratios); load average \(load) on \(c.cores) cores\(others)\(loaded)"
  }
}
