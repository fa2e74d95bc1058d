import Foundation
import MISCImage
import MISCMetrics

/// Images per second of each quality metric on a dataset, beside the PyTorch package it equals
/// (Benchmarks/metrics/bench_torch.py) on the same images and thread count, in the same run.
public enum MetricsBench {
  /// One metric's speed on both sides.
  public struct Entry: Codable, Sendable {
    public var metric: String
    public var label: String
    /// The weights the Swift side used ("none" when weight-free).
    public var model: String
    public var images: Int
    public var seconds: Double?
    public var imagesPerSecond: Double?
    /// Images per second of the process's CPU time (user + system): steadier than wall time on a loaded machine.
    public var imagesPerCPUSecond: Double?
    /// Why the Swift side could not run (weights missing, not built yet).
    public var error: String?
    public var torchPackage: String?
    public var torchImagesPerSecond: Double?
    public var torchImagesPerCPUSecond: Double?
    public var torchError: String?
    /// Swift images per second over PyTorch's: above 1 means Swift is faster.
    public var ratio: Double?
    /// The same ratio in CPU time.
    public var cpuRatio: Double?
  }

  public struct Report: Codable, Sendable {
    public var dataset: String
    public var images: Int
    public var threads: Int
    public var torchVersion: String?
    /// `uptime` before the Swift side and after the PyTorch side.
    public var loadBefore: String
    public var loadAfter: String
    public var entries: [Entry]

    public init(dataset: String, images: Int, threads: Int, torchVersion: String?, loadBefore: String, loadAfter: String, entries: [Entry]) {
      (self.dataset, self.images, self.threads, self.torchVersion) = (dataset, images, threads, torchVersion)
      (self.loadBefore, self.loadAfter, self.entries) = (loadBefore, loadAfter, entries)
    }
  }

  /// The distortion full-reference metrics compare against: every sample quantised to steps of 16
  /// (the Python side uses the same).
  public static func distorted(_ image: Image) -> Image {
    var out = image
    for i in out.pixels.indices { out.pixels[i] = out.pixels[i] / 16 * 16 + 8 }
    return out
  }

  /// Wall and CPU seconds to score every pair once, after one warm-up on the first.
  public static func time(_ metric: any QualityMetric, pairs: [(Image, Image)]) throws -> (wall: Double, cpu: Double) {
    _ = try metric.evaluate(reference: pairs[0].0, distorted: pairs[0].1)
    let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuSeconds()
    for (reference, distorted) in pairs { _ = try metric.evaluate(reference: reference, distorted: distorted) }
    return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, cpuSeconds() - cpuStart)
  }

  /// This process's user + system CPU time, all threads.
  static func cpuSeconds() -> Double {
    var usage = rusage()
    #if canImport(Glibc)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
  }

  /// What the Python script reported: its torch version and, per metric id, package and speed or error.
  public struct TorchResult: Sendable {
    public var version: String?
    public var package: [String: String] = [:]
    public var imagesPerSecond: [String: Double] = [:]
    public var imagesPerCPUSecond: [String: Double] = [:]
    public var errors: [String: String] = [:]
  }

  /// Runs `script` with `python` on the same dataset, metrics and threads; a failure becomes an error per metric.
  public static func runTorch(python: String, script: String, dataset: String, metrics: [MetricID], threads: Int,
                              limit: Int, niqeParams: String?) -> TorchResult {
    var result = TorchResult()
    var arguments = [script, "--dataset", dataset, "--metrics", metrics.map(\.rawValue).joined(separator: ","),
                     "--threads", String(threads), "--limit", String(limit), "--json"]
    if let niqeParams { arguments += ["--niqe-params", niqeParams] }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    do {
      try process.run()
    } catch {
      for id in metrics { result.errors[id.rawValue] = "cannot run \(python): \(error.localizedDescription)" }
      return result
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let line = String(decoding: stdout, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    guard process.terminationStatus == 0,
          let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          let entries = json["metrics"] as? [String: [String: Any]] else {
      let why = String(decoding: stderr, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "no output"
      for id in metrics { result.errors[id.rawValue] = "\(script) failed (status \(process.terminationStatus)): \(why)" }
      return result
    }
    result.version = json["torch"] as? String
    for (id, entry) in entries {
      if let error = entry["error"] as? String { result.errors[id] = error }
      if let speed = entry["images_per_s"] as? Double { result.imagesPerSecond[id] = speed }
      if let speed = entry["images_per_cpu_s"] as? Double { result.imagesPerCPUSecond[id] = speed }
      if let package = entry["package"] as? String { result.package[id] = package }
    }
    return result
  }

  /// The system's `uptime` line (load averages over 1, 5 and 15 minutes).
  public static func uptime() -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["uptime"]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else {
      return (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Times each metric of `ids` on `images` (built by `make`; one that cannot be built is reported, not fatal).
  public static func runSwift(_ ids: [MetricID], images: [Image], make: (MetricID) throws -> any QualityMetric,
                              progress: (MetricID) -> Void = { _ in }) -> [Entry] {
    let pairs = images.map { ($0, distorted($0)) }
    return ids.map { id in
      progress(id)
      var entry = Entry(metric: id.rawValue, label: id.label, model: "none", images: images.count)
      do {
        let metric = try make(id)
        entry.model = metric.modelID ?? "none"
        let seconds = try time(metric, pairs: pairs)
        entry.seconds = seconds.wall
        entry.imagesPerSecond = Double(images.count) / seconds.wall
        entry.imagesPerCPUSecond = Double(images.count) / seconds.cpu
      } catch {
        entry.error = String(describing: error)
      }
      return entry
    }
  }

  /// Joins the PyTorch side's numbers to the Swift entries and computes the ratios.
  public static func merge(_ entries: [Entry], torch: TorchResult) -> [Entry] {
    entries.map { entry in
      var e = entry
      e.torchPackage = torch.package[e.metric]
      e.torchImagesPerSecond = torch.imagesPerSecond[e.metric]
      e.torchImagesPerCPUSecond = torch.imagesPerCPUSecond[e.metric]
      e.torchError = torch.errors[e.metric]
      if let swift = e.imagesPerSecond, let reference = e.torchImagesPerSecond, reference > 0 { e.ratio = swift / reference }
      if let swift = e.imagesPerCPUSecond, let reference = e.torchImagesPerCPUSecond, reference > 0 { e.cpuRatio = swift / reference }
      return e
    }
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
