import ArgumentParser
import Foundation
import MISCImage
import MISCMetrics

/// `misc score`: quality metrics of decoded images against their originals (or, for NIQE and
/// CLIP-IQA, of images alone), per image and as a mean.
struct Score: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Score images with quality metrics (PSNR, SSIM, MS-SSIM, NIQE, and the network metrics).",
    discussion: """
      Give a reference and a distorted image, or two directories whose images are matched by file \
      name (the extension is ignored, so kodim01.png pairs with kodim01.jpg). No-reference metrics \
      (niqe, clipiqa) also take a single image or directory. Each metric equals its reference \
      package (docs/METRICS.md); every report names the model each metric used. NIQE reads its \
      pristine model from DIR/niqe/niqe_pris_params.json (--metric-models) or $MISC_DATA/niqe.
      """
  )

  @Argument(help: "The reference image or directory; for no-reference metrics alone, the images to score.")
  var reference: String

  @Argument(help: "The distorted (decoded) image or directory.")
  var distorted: String?

  @Option(help: "Comma-separated metrics: \(MetricID.allCases.map(\.rawValue).joined(separator: ",")). Default: psnr,ssim,msssim with a reference, niqe without.")
  var metrics: String?

  @Flag(help: "Print one JSON report (per-image records and the means) instead of the table.")
  var json = false

  @Option(name: .customLong("metric-models"), help: "Folder of the metrics' weight folders (default: $MISC_METRIC_MODELS).")
  var metricModels: String?

  @Option(name: .customLong("max-pixels"), help: "Refuse images larger than this.")
  var maxPixels: Int = ImageIO.defaultMaxPixels

  func validate() throws {
    let ids = try metricIDs()
    if distorted == nil, let full = ids.first(where: { !$0.isNoReference }) {
      throw ValidationError("\(full.rawValue) compares two images: give a reference and a distorted image (or directory), or use only no-reference metrics (niqe, clipiqa)")
    }
    if maxPixels < 1 { throw ValidationError("--max-pixels must be positive") }
  }

  func metricIDs() throws -> [MetricID] {
    do {
      return try MetricID.parseList(metrics ?? (distorted == nil ? "niqe" : "psnr,ssim,msssim"))
    } catch {
      throw ValidationError(Console.describe(error))
    }
  }

  func run() async throws {
    let ids = try metricIDs()
    let models = MetricModels.resolve(directory: metricModels, clipModel: nil)
    let metrics: [any QualityMetric]
    let inputs: ScoreInputs
    do {
      metrics = try MetricRegistry.make(ids, models: models)
      inputs = try ScoreInputs.resolve(reference, distorted)
    } catch {
      Console.error(Console.describe(error))
      throw ExitCode(1)
    }
    for path in inputs.unmatchedReferences { Console.note("note: \(path): no distorted image of that name") }
    let results = ScoreResults()
    let items = inputs.items
    let maxPixels = self.maxPixels
    var failed = false
    do {
      try await Batch(verb: "scoring", inputs: items.map(\.distorted)).run { distortedPath in
        let item = items.first { $0.distorted == distortedPath }!
        let record = Self.score(item, metrics: metrics, maxPixels: maxPixels)
        await results.add(record)
        if !record.errors.isEmpty {
          throw CLIError(record.errors.joined(separator: "; "))
        }
      }
    } catch is ExitCodeError {
      failed = true
    }
    let report = await results.report(metrics: metrics, order: items.map(\.distorted))
    if json {
      Console.out(JSONLine.encode(report, pretty: true))
    } else {
      for line in Self.table(report) { Console.out(line) }
    }
    if failed { throw ExitCode(1) }
  }

  /// Scores one item with every metric, keeping the scores that worked and the reasons of the others.
  static func score(_ item: ScoreInputs.Item, metrics: [any QualityMetric], maxPixels: Int) -> ScoreRecord {
    var record = ScoreRecord(reference: item.reference, distorted: item.distorted, scores: [:], errors: [])
    if let problem = item.problem {
      record.errors.append(problem)
      return record
    }
    let distorted: Image, reference: Image?
    do {
      distorted = try ImageIO.read(path: item.distorted, maxPixels: maxPixels).image
      reference = try item.reference.map { try ImageIO.read(path: $0, maxPixels: maxPixels).image }
    } catch {
      record.errors.append(Console.describe(error))
      return record
    }
    // A size mismatch is said once; the no-reference metrics still score the distorted image.
    var pairUsable = true
    if let reference, let path = item.reference, reference.width != distorted.width || reference.height != distorted.height,
       metrics.contains(where: { !$0.id.isNoReference }) {
      pairUsable = false
      record.errors.append("the images differ in size: reference \(path) is \(reference.width)x\(reference.height), distorted \(item.distorted) is \(distorted.width)x\(distorted.height)")
    }
    for metric in metrics where pairUsable || metric.id.isNoReference {
      do {
        let needsReference = !metric.id.isNoReference
        record.scores[metric.id.rawValue] = try metric.evaluate(reference: needsReference ? reference : nil, distorted: distorted)
      } catch {
        let message = Console.describe(error)
        record.errors.append(message.hasPrefix(metric.id.label) ? message : "\(metric.id.label): \(message)")
      }
    }
    return record
  }

  /// The text report: one line per image, the means, and the model behind each metric.
  static func table(_ report: ScoreReport) -> [String] {
    let columns = report.metrics
    let nameWidth = max(8, report.images.map { ($0.distorted as NSString).lastPathComponent.count }.max() ?? 0)
    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    func cell(_ value: Double?, _ id: String) -> String {
      guard let value else { return pad("-", 12) }
      return pad(String(format: id == "psnr" ? "%.3f" : "%.6f", value), 12)
    }
    var lines = [pad("image", nameWidth) + "  " + columns.map { pad($0.label, 12) }.joined()]
    for image in report.images {
      lines.append(pad((image.distorted as NSString).lastPathComponent, nameWidth) + "  "
                   + columns.map { cell(image.scores[$0.id], $0.id) }.joined())
    }
    if report.images.count > 1 {
      lines.append(pad("mean", nameWidth) + "  " + columns.map { cell(report.mean[$0.id], $0.id) }.joined())
    }
    let counted = columns.map { "\($0.label) over \(report.count[$0.id] ?? 0)" }.joined(separator: ", ")
    lines.append("images: \(report.images.count)" + (report.failed > 0 ? ", \(report.failed) failed" : "") + "; means: \(counted)")
    lines.append("models: " + columns.map { "\($0.label) \($0.model)" }.joined(separator: "; "))
    return lines
  }
}

/// One image's scores (by metric id) and what went wrong.
struct ScoreRecord: Codable, Sendable {
  var reference: String?
  var distorted: String
  var scores: [String: Double]
  var errors: [String]
}

/// A metric as a report states it.
struct ScoreMetricInfo: Codable, Sendable {
  var id: String
  var label: String
  /// The weights behind the score; "none" when weight-free.
  var model: String
  var higherIsBetter: Bool
}

/// The whole run: the metrics, each image's record, and the mean of each metric over the images it scored.
struct ScoreReport: Codable, Sendable {
  var metrics: [ScoreMetricInfo]
  var images: [ScoreRecord]
  var mean: [String: Double]
  var count: [String: Int]
  var failed: Int
}

/// Collects records from the batch's concurrent jobs.
actor ScoreResults {
  private var records: [String: ScoreRecord] = [:]

  func add(_ record: ScoreRecord) { records[record.distorted] = record }

  func report(metrics: [any QualityMetric], order: [String]) -> ScoreReport {
    let images = order.compactMap { records[$0] }
    var mean: [String: Double] = [:], count: [String: Int] = [:]
    for metric in metrics {
      let values = images.compactMap { $0.scores[metric.id.rawValue] }
      count[metric.id.rawValue] = values.count
      if !values.isEmpty { mean[metric.id.rawValue] = values.reduce(0, +) / Double(values.count) }
    }
    return ScoreReport(
      metrics: metrics.map { ScoreMetricInfo(id: $0.id.rawValue, label: $0.id.label, model: $0.modelID ?? "none", higherIsBetter: $0.id.higherIsBetter) },
      images: images, mean: mean, count: count, failed: images.filter { !$0.errors.isEmpty }.count)
  }
}
