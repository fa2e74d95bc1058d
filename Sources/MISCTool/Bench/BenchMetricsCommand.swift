import ArgumentParser
import Foundation
import MISCBench
import MISCImage
import MISCMetrics
import MISCNeural

/// `misc bench metrics`: images per second of each quality metric, beside the PyTorch package it
/// equals on the same images and thread count, in the same run.
struct BenchMetrics: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "metrics",
    abstract: "Images per second of each quality metric, and the ratio to pyiqa / pytorch_msssim / lpips.",
    discussion: """
      Full-reference metrics compare each image with a copy quantised to steps of 16. With --python, \
      Benchmarks/metrics/bench_torch.py then runs the same images through the reference packages on the \
      same number of threads (network metrics on random weights: speed does not depend on their values). \
      The report states the load average (uptime) before and after: the machine may be shared.
      """
  )

  @Option(help: "A folder of PNG or JPEG images (Kodak: ../shared/data/kodak).")
  var dataset: String

  @Option(help: "Comma-separated metrics (any of \(MetricID.allCases.map(\.rawValue).joined(separator: ","))).")
  var metrics: String = "psnr,ssim,msssim,niqe"

  @Option(help: "CPU threads for both sides (OpenBLAS and torch.set_num_threads).")
  var threads: Int = 1

  @Option(help: "Only the first N images (0: all).")
  var limit: Int = 0

  @Option(help: "A Python with torch, pyiqa, pytorch_msssim and lpips; without it only the Swift side runs.")
  var python: String?

  @Option(name: .customLong("torch-script"), help: "The PyTorch side's script.")
  var torchScript: String = "Benchmarks/metrics/bench_torch.py"

  @Option(name: .customLong("metric-models"), help: "Folder of the metrics' weight folders (default: $MISC_METRIC_MODELS).")
  var metricModels: String?

  @Flag(help: "Print the report as JSON.")
  var json = false

  func validate() throws {
    do { _ = try MetricID.parseList(metrics) } catch { throw ValidationError(Console.describe(error)) }
    if threads < 1 || threads > 256 { throw ValidationError("--threads must be within 1...256 (got \(threads))") }
    if limit < 0 { throw ValidationError("--limit must be 0 or more") }
    if python != nil, !FileManager.default.fileExists(atPath: torchScript) {
      throw ValidationError("\(torchScript): no such file (run from the checkout's root or give --torch-script)")
    }
  }

  func run() async throws {
    let ids = try MetricID.parseList(metrics)
    Gemm.threads = threads
    var paths = try ScoreInputs.listImages(dataset)
    if limit > 0 { paths = Array(paths.prefix(limit)) }
    let images = try paths.map { try ImageIO.read(path: $0).image }
    let models = MetricModels.resolve(directory: metricModels, clipModel: nil)
    let loadBefore = MetricsBench.uptime()
    let showProgress = isatty(STDERR_FILENO) != 0
    var entries = MetricsBench.runSwift(ids, images: images, make: { try MetricRegistry.make($0, models: models) }) { id in
      if showProgress { Console.progress("bench metrics: swift \(id.label)") }
    }
    if let python {
      if showProgress { Console.progress("bench metrics: torch (\(ids.map(\.label).joined(separator: ", ")))") }
      let niqeParams = ids.contains(.niqe) ? try? NIQEModel.path(models: models) : nil
      let torch = MetricsBench.runTorch(python: python, script: torchScript, dataset: dataset, metrics: ids,
                                        threads: threads, limit: limit, niqeParams: niqeParams)
      entries = MetricsBench.merge(entries, torch: torch)
      if showProgress { Console.progress(nil) }
      let report = MetricsBench.Report(dataset: dataset, images: images.count, threads: threads, torchVersion: torch.version,
                                       loadBefore: loadBefore, loadAfter: MetricsBench.uptime(), entries: entries)
      return output(report)
    }
    if showProgress { Console.progress(nil) }
    output(MetricsBench.Report(dataset: dataset, images: images.count, threads: threads, torchVersion: nil,
                               loadBefore: loadBefore, loadAfter: MetricsBench.uptime(), entries: entries))
  }

  private func output(_ report: MetricsBench.Report) {
    if json { return Console.out(JSONLine.encode(report, pretty: true)) }
    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    func rate(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "-" }
    Console.out("\(report.images) images from \(report.dataset), \(report.threads) thread\(report.threads == 1 ? "" : "s")"
                + (report.torchVersion.map { ", torch \($0)" } ?? ""))
    Console.out(pad("metric", 11) + pad("swift img/s", 13) + pad("torch img/s", 13) + pad("ratio", 8)
                + pad("swift img/cpu-s", 17) + pad("torch img/cpu-s", 17) + pad("cpu ratio", 11) + "reference")
    func ratio(_ v: Double?) -> String { v.map { String(format: "%.1fx", $0) } ?? "-" }
    for e in report.entries {
      let reference = e.torchPackage ?? e.torchError ?? "-"
      Console.out(pad(e.label, 11) + pad(rate(e.imagesPerSecond), 13) + pad(rate(e.torchImagesPerSecond), 13) + pad(ratio(e.ratio), 8)
                  + pad(rate(e.imagesPerCPUSecond), 17) + pad(rate(e.torchImagesPerCPUSecond), 17) + pad(ratio(e.cpuRatio), 11) + reference)
      if let error = e.error { Console.out("  swift: \(error)") }
    }
    Console.out("models: " + report.entries.map { "\($0.label) \($0.model)" }.joined(separator: "; "))
    Console.out("load before: \(report.loadBefore)")
    Console.out("load after:  \(report.loadAfter)")
  }
}
