import Foundation
import MISCImage
import MISCMetrics

/// Writes what `misc eval` leaves behind: per dataset `<dataset>/table.{md,csv,json}` and one
/// `<dataset>/<metric>.svg` per metric, and one self-contained `report.html`.
public enum EvalReport {
  /// The files written, by role.
  public struct Written: Sendable {
    public var tables: [EvalTable]
    public var report: String
  }

  /// Writes the tables, the plots and the report for `records`. `reportImages` bounds the images
  /// per dataset whose crops the report shows (the crops are about 60 KB each).
  @discardableResult
  public static func write(_ records: [EvalRecord], configuration: Evaluation.Configuration, reportImages: Int = 6,
                           command: String? = nil) throws -> Written {
    let output = configuration.output
    var tables: [EvalTable] = []
    var sections = ""
    for dataset in configuration.datasets {
      let table = EvalTable(dataset: dataset.name, records: records, codecs: configuration.codecs, metrics: configuration.metrics)
      tables.append(table)
      let folder = (output as NSString).appendingPathComponent(dataset.name)
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      try writeFileAtomically(Array(table.markdown.utf8), to: folder + "/table.md")
      try writeFileAtomically(Array(table.csv.utf8), to: folder + "/table.csv")
      try writeFileAtomically(Array(table.json.utf8), to: folder + "/table.json")
      let plots = table.plots()
      for (metric, svg) in plots { try writeFileAtomically(Array(svg.utf8), to: folder + "/\(metric.rawValue).svg") }
      sections += section(table, plots: plots, records: records.filter { $0.dataset == dataset.name }, codecs: configuration.codecs,
                          output: output, reportImages: reportImages)
    }
    let models = Set(records.flatMap { $0.models.map { "\(MetricID(rawValue: $0.key)?.label ?? $0.key): \($0.value)" } }).sorted()
    let versions = Dictionary(records.compactMap { r in r.codecVersion.map { (r.codec, $0) } }, uniquingKeysWith: { a, _ in a })
    var html = """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8"><title>MISC evaluation</title>
    <style>
    body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; max-width: 1360px; }
    h1 { font-size: 22px; } h2 { font-size: 19px; margin-top: 36px; border-bottom: 1px solid #ccc; } h3 { font-size: 15px; }
    table.t { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
    table.t th, table.t td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
    table.t th { background: #f3f3f3; } table.t td:first-child, table.t th:first-child { text-align: left; }
    .b1 { font-weight: bold; } .b2 { text-decoration: underline; }
    .note { font-size: 12px; color: #555; } .fail { color: #a00; font-size: 12px; }
    .crops { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 14px; }
    .crops figure { margin: 0; width: 160px; } .crops img { width: 160px; height: 160px; image-rendering: pixelated; display: block; }
    .crops figcaption { font-size: 11px; line-height: 1.25; }
    .plots { display: flex; flex-wrap: wrap; gap: 8px; }
    </style></head><body>
    <h1>MISC evaluation</h1>
    <p class="note">\(escape(command ?? "misc eval")) · \(escape(ISO8601DateFormatter().string(from: Date())))<br>
    Metric models: \(escape(models.isEmpty ? "none (weight-free metrics only)" : models.joined(separator: "; ")))<br>
    Codecs: \(escape(codecVersions(configuration.codecs, versions)))</p>

    """
    html += sections
    html += "</body></html>\n"
    let report = (output as NSString).appendingPathComponent("report.html")
    try writeFileAtomically(Array(html.utf8), to: report)
    return Written(tables: tables, report: report)
  }

  static func section(_ table: EvalTable, plots: [(metric: MetricID, svg: String)], records: [EvalRecord], codecs: [EvalCodec],
                      output: String, reportImages: Int) -> String {
    var html = "<h2>\(escape(table.dataset))</h2>\n"
    let tableIII = table.columns.filter(EvalTable.tableIII.contains), others = table.columns.filter { !EvalTable.tableIII.contains($0) }
    html += "<table class=\"t\"><tr><th>Codec</th><th>Target bpp</th>"
    html += tableIII.map { "<th>\(escape(EvalTable.header($0)))</th>" }.joined() + "<th>Avg↑</th><th>bpp</th>"
    html += others.map { "<th>\(escape(EvalTable.header($0)))</th>" }.joined() + "<th>Images</th><th>Failed</th></tr>\n"
    for row in table.rows {
      func cell(_ name: String, _ value: Double?, _ metric: MetricID?) -> String {
        guard let value else { return "<td>—</td>" }
        let mark = row.rank[name].map { " class=\"b\($0)\"" } ?? ""
        return "<td\(mark)>\(EvalTable.format(value, metric))</td>"
      }
      html += "<tr><td>\(escape(row.label))</td><td>\(EvalTable.target(row.rate))</td>"
      html += tableIII.map { cell($0.rawValue, row.metrics[$0.rawValue], $0) }.joined()
      html += cell("avg", row.average, nil)
      html += "<td>" + (row.bitsPerPixel.map { String(format: "%.4f", $0) + (row.overTarget > 0 ? "*" : "") } ?? "—") + "</td>"
      html += others.map { cell($0.rawValue, row.metrics[$0.rawValue], $0) }.joined()
      html += "<td>\(row.images)</td><td>\(row.failed)</td></tr>\n"
    }
    html += "</table>\n<p class=\"note\"><b>Best</b>, <u>second best</u>. Avg: the paper's eq. 9/10 over "
    html += escape(table.averaged.map(\.label).joined(separator: ", "))
    html += ", each column min–max scaled to [−1, 1] over the rows at the rate. bpp: the mean real file rate; * some images over the target "
    html += "(the codec's smallest setting): such rows are shown but neither ranked nor averaged. ↓: the downscaled mode (1/2, 1/4 or 1/8 size, bicubic up, best PSNR per image).</p>\n"
    if !table.failures.isEmpty {
      html += "<p class=\"fail\">Failures (\(table.failures.count)):<br>"
      html += table.failures.prefix(50).map { "\(escape($0.image)) · \(escape($0.codec)) @\(EvalTable.target($0.rate)): \(escape($0.error))" }
        .joined(separator: "<br>")
      html += "</p>\n"
    }
    html += "<div class=\"plots\">" + plots.map(\.svg).joined(separator: "\n") + "</div>\n"
    // Crops: the same square of the original and of each codec at each target.
    let images = records.map(\.image).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    let shown = images.prefix(reportImages)
    html += "<h3>Crops (\(shown.count) of \(images.count) images; the same \(EvalCrops.side)-pixel square of each, chosen for detail)</h3>\n"
    for image in shown {
      html += "<div class=\"note\">\(escape(image))</div><div class=\"crops\">"
      if let data = dataURI(EvalCrops.path(output: output, dataset: table.dataset, image: image, codec: nil, rate: 0)) {
        html += "<figure><img src=\"\(data)\" alt=\"original\"><figcaption><b>original</b></figcaption></figure>"
      }
      for codec in codecs {
        for record in records.filter({ $0.image == image && $0.codec == codec.id }).sorted(by: { $0.rate < $1.rate }) {
          let caption = codec.label + (record.rate > 0 ? " @\(EvalTable.target(record.rate))" : "")
          guard record.error == nil,
                let data = dataURI(EvalCrops.path(output: output, dataset: table.dataset, image: image, codec: codec.id, rate: record.rate))
          else {
            html += "<figure><div style=\"width:160px;height:160px;background:#eee\"></div><figcaption>\(escape(caption))<br>failed</figcaption></figure>"
            continue
          }
          let psnr = record.metrics["psnr"].map { String(format: ", %.2f dB", $0) } ?? ""
          let bpp = record.bitsPerPixel.map { String(format: "%.4f bpp", $0) } ?? ""
          html += "<figure><img src=\"\(data)\" alt=\"\(escape(caption))\"><figcaption><b>\(escape(caption))</b><br>\(bpp)\(psnr)</figcaption></figure>"
        }
      }
      html += "</div>\n"
    }
    return html
  }

  /// "misc1, misc2: MISC format v4; …; webp, webp-down: cwebp 1.2.4": codecs sharing a version together.
  static func codecVersions(_ codecs: [EvalCodec], _ versions: [String: String]) -> String {
    var groups: [(version: String, ids: [String])] = []
    for codec in codecs {
      let version = versions[codec.id] ?? "not run"
      if let i = groups.firstIndex(where: { $0.version == version }) { groups[i].ids.append(codec.id) } else { groups.append((version, [codec.id])) }
    }
    return groups.map { "\($0.ids.joined(separator: ", ")): \($0.version)" }.joined(separator: " · ")
  }

  static func dataURI(_ path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return "data:image/png;base64," + data.base64EncodedString()
  }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}
