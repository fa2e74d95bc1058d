import Foundation
import MISCMetrics

/// One dataset's summary in the layout of the paper's Table III: a row per (codec, target), the
/// mean of each metric over the images, the normalised average of eq. 9 and 10, the mean bpp.
public struct EvalTable: Codable, Sendable {
  public struct Row: Codable, Sendable {
    public var codec: String
    public var label: String
    /// The target bpp (0 for an external codec run without one).
    public var rate: Double
    /// Images scored, and images that failed.
    public var images: Int
    public var failed: Int
    /// Images where the codec could not get within the target (run at its smallest setting).
    public var overTarget: Int
    /// The mean real rate over the scored images.
    public var bitsPerPixel: Double?
    /// Mean score per `MetricID.rawValue`.
    public var metrics: [String: Double]
    /// Eq. 10 over `EvalTable.averaged`; nil when a score is missing.
    public var average: Double?
    /// 1 for the best and 2 for the second best of a column, by column name (a metric id or "avg").
    public var rank: [String: Int]
  }

  public struct Failure: Codable, Sendable {
    public var image: String
    public var codec: String
    public var rate: Double
    public var error: String
  }

  public var dataset: String
  /// The metric columns, Table III's first (LPIPS, ClipSIM, NIQE, CLIP-IQA), then the others.
  public var columns: [MetricID]
  /// The columns eq. 10 sums: Table III's four when any of them was run, else every column.
  public var averaged: [MetricID]
  public var rows: [Row]
  public var failures: [Failure]

  /// Table III's metrics, in its order.
  public static let tableIII: [MetricID] = [.lpips, .clipsim, .niqe, .clipiqa]

  /// Builds the table of `dataset` from `records`, rows in the order of `codecs`, then by target.
  public init(dataset: String, records: [EvalRecord], codecs: [EvalCodec], metrics: [MetricID]) {
    self.dataset = dataset
    let mine = records.filter { $0.dataset == dataset }
    let columns = Self.tableIII.filter(metrics.contains) + metrics.filter { !Self.tableIII.contains($0) }.sorted()
    // The paper's Avg sums its four metrics; a run without all four averages every metric it has.
    let averaged = Self.tableIII.allSatisfy(metrics.contains) ? Self.tableIII : columns
    self.columns = columns
    self.averaged = averaged
    failures = mine.flatMap { r in
      (r.error.map { [Failure(image: r.image, codec: r.codec, rate: r.rate, error: $0)] } ?? [])
        + (r.metricErrors ?? [:]).sorted { $0.key < $1.key }.map { Failure(image: r.image, codec: r.codec, rate: r.rate, error: $0.value) }
    }
    var rows: [Row] = []
    for codec in codecs {
      let rates = Set(mine.filter { $0.codec == codec.id }.map(\.rate)).sorted()
      for rate in rates {
        let group = mine.filter { $0.codec == codec.id && $0.rate == rate }
        let scored = group.filter { $0.error == nil }
        var means: [String: Double] = [:]
        for metric in columns {
          let values = scored.compactMap { $0.metrics[metric.rawValue] }
          if !values.isEmpty && values.count == scored.count { means[metric.rawValue] = values.reduce(0, +) / Double(values.count) }
        }
        let bpp = scored.compactMap(\.bitsPerPixel)
        rows.append(Row(codec: codec.id, label: codec.label, rate: rate, images: scored.count, failed: group.count - scored.count,
                        overTarget: scored.filter { $0.reachedTarget == false }.count,
                        bitsPerPixel: bpp.isEmpty ? nil : bpp.reduce(0, +) / Double(bpp.count),
                        metrics: means, average: nil, rank: [:]))
      }
    }
    // A row whose codec could not reach the target on some image is shown, but it is not at the
    // rate the table compares: it is neither ranked nor part of the normalised average's scaling.
    let atRate = rows.map { $0.overTarget == 0 }
    let averages = Self.normalisedAverage(rows.indices.map { i in averaged.map { atRate[i] ? rows[i].metrics[$0.rawValue] : nil } },
                                          higherIsBetter: averaged.map(\.higherIsBetter))
    for i in rows.indices { rows[i].average = averages[i] }
    // Best and second best of each column.
    for metric in columns {
      let ranks = Self.ranks(rows.indices.map { atRate[$0] ? rows[$0].metrics[metric.rawValue] : nil }, higherIsBetter: metric.higherIsBetter)
      for i in rows.indices { if let r = ranks[i] { rows[i].rank[metric.rawValue] = r } }
    }
    let ranks = Self.ranks(rows.map(\.average), higherIsBetter: true)
    for i in rows.indices { if let r = ranks[i] { rows[i].rank["avg"] = r } }
    self.rows = rows
  }

  /// Eq. 9 and 10: each column min–max scaled to [−1, 1] over the rows that have every score,
  /// then summed with +1 for higher-better and −1 for lower-better columns. A column with one
  /// value only adds 0. Rows missing a score get nil.
  public static func normalisedAverage(_ rows: [[Double?]], higherIsBetter: [Bool]) -> [Double?] {
    let complete = rows.indices.filter { rows[$0].allSatisfy { $0 != nil } }
    guard !complete.isEmpty else { return rows.map { _ in nil } }
    var result = [Double?](repeating: nil, count: rows.count)
    for i in complete { result[i] = 0 }
    for column in higherIsBetter.indices {
      let values = complete.map { rows[$0][column]! }
      let low = values.min()!, high = values.max()!
      for i in complete {
        let scaled = high > low ? 2 * (rows[i][column]! - low) / (high - low) - 1 : 0
        result[i]! += higherIsBetter[column] ? scaled : -scaled
      }
    }
    return result
  }

  /// 1 for the best value, 2 for the second best (ties share a rank); nil for the rest.
  static func ranks(_ values: [Double?], higherIsBetter: Bool) -> [Int?] {
    let distinct = Array(Set(values.compactMap { $0 })).sorted { higherIsBetter ? $0 > $1 : $0 < $1 }
    guard distinct.count > 1 else { return values.map { _ in nil } }
    return values.map { value in
      guard let value else { return nil }
      if value == distinct[0] { return 1 }
      if value == distinct[1] { return 2 }
      return nil
    }
  }

  // MARK: - Formats

  /// The column headers with their direction: "LPIPS↓".
  static func header(_ metric: MetricID) -> String { metric.label + (metric.higherIsBetter ? "↑" : "↓") }

  /// A metric's printed precision: PSNR and NIQE in two decimals, the rest in four.
  static func format(_ value: Double, _ metric: MetricID?) -> String {
    switch metric {
    case .psnr?, .niqe?: String(format: "%.2f", value)
    default: String(format: "%.4f", value)
    }
  }

  static func target(_ rate: Double) -> String { rate > 0 ? String(format: "%g", rate) : "—" }

  /// The Markdown table, with best in bold and second best in italics.
  public var markdown: String {
    let tableIII = columns.filter(Self.tableIII.contains), others = columns.filter { !Self.tableIII.contains($0) }
    var head = ["Codec", "Target bpp"] + tableIII.map(Self.header) + ["Avg↑", "bpp"] + others.map(Self.header) + ["Images"]
    if rows.contains(where: { $0.failed > 0 }) { head.append("Failed") }
    var out = "| " + head.joined(separator: " | ") + " |\n|" + head.map { _ in "---" }.joined(separator: "|") + "|\n"
    for row in rows {
      func cell(_ name: String, _ value: Double?, _ metric: MetricID?) -> String {
        guard let value else { return "—" }
        let text = Self.format(value, metric)
        switch row.rank[name] {
        case 1?: return "**\(text)**"
        case 2?: return "_\(text)_"
        default: return text
        }
      }
      let bpp = row.bitsPerPixel.map { String(format: "%.4f", $0) + (row.overTarget > 0 ? "*" : "") } ?? "—"
      var cells = [row.label, Self.target(row.rate)]
      cells += tableIII.map { cell($0.rawValue, row.metrics[$0.rawValue], $0) }
      cells += [cell("avg", row.average, nil), bpp]
      cells += others.map { cell($0.rawValue, row.metrics[$0.rawValue], $0) }
      cells.append("\(row.images)")
      if head.last == "Failed" { cells.append("\(row.failed)") }
      out += "| " + cells.joined(separator: " | ") + " |\n"
    }
    out += "\n**Best**, _second best_. Avg: eq. 9/10 over \(averaged.map(\.label).joined(separator: ", ")), min–max scaled over the rows at the rate."
    if rows.contains(where: { $0.overTarget > 0 }) {
      out += " *: some images over the target (the codec's smallest setting); such rows are shown but neither ranked nor averaged."
    }
    out += "\n"
    if !failures.isEmpty {
      out += "\nFailures (\(failures.count)):\n"
      for failure in failures.prefix(20) { out += "- \(failure.image) · \(failure.codec) @\(Self.target(failure.rate)): \(failure.error)\n" }
      if failures.count > 20 { out += "- … and \(failures.count - 20) more (table.json, records.jsonl)\n" }
    }
    return out
  }

  /// One line per row: codec, label, target_bpp, bpp, images, failed, over_target, each metric, avg.
  public var csv: String {
    var out = (["codec", "label", "target_bpp", "bpp", "images", "failed", "over_target"] + columns.map(\.rawValue) + ["avg"])
      .joined(separator: ",") + "\n"
    for row in rows {
      var cells = [row.codec, "\"\(row.label)\"", String(format: "%g", row.rate), row.bitsPerPixel.map { String(format: "%.6f", $0) } ?? "",
                   "\(row.images)", "\(row.failed)", "\(row.overTarget)"]
      cells += columns.map { row.metrics[$0.rawValue].map { String(format: "%.6f", $0) } ?? "" }
      cells.append(row.average.map { String(format: "%.6f", $0) } ?? "")
      out += cells.joined(separator: ",") + "\n"
    }
    return out
  }

  public var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
  }

  /// One plot per metric: mean bpp across (log), the metric up, a curve per codec over its
  /// targets; the MISC levels form one curve.
  public func plots() -> [(metric: MetricID, svg: String)] {
    var groups: [(label: String, rows: [Row])] = []
    for row in rows {
      let label = row.codec.hasPrefix("misc") && row.codec != "misc" ? "MISC-1/2/3" : row.label
      if let i = groups.firstIndex(where: { $0.label == label }) { groups[i].rows.append(row) } else { groups.append((label, [row])) }
    }
    return columns.map { metric in
      let series = groups.map { group in
        SVGPlot.Series(label: group.label, xy: group.rows.compactMap { row in
          guard let bpp = row.bitsPerPixel, let value = row.metrics[metric.rawValue] else { return nil }
          return SVGPlot.Point(x: bpp, y: value)
        })
      }
      let panel = SVGPlot.Panel(title: "\(dataset): \(metric.label) against rate, mean of each codec",
                                series: series, xLabel: "bits per pixel (log)",
                                yLabel: metric.label + (metric == .psnr ? " (dB)" : "") + (metric.higherIsBetter ? " ↑ better" : " ↓ better"))
      return (metric, SVGPlot.render([panel], panelWidth: 640, panelHeight: 400))
    }
  }
}
