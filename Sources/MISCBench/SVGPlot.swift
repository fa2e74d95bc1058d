import Foundation

/// A hand-written SVG rate–distortion plot: one panel per thumbnail size, bytes on a log axis
/// against PSNR, one polyline per codec.
public enum SVGPlot {
  public struct Series: Sendable {
    public var label: String
    public var points: [RDPoint]
    public init(label: String, points: [RDPoint]) {
      self.label = label
      self.points = points
    }
  }

  public struct Panel: Sendable {
    public var title: String
    public var series: [Series]
    public init(title: String, series: [Series]) {
      self.title = title
      self.series = series
    }
  }

  static let colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]

  public static func render(_ panels: [Panel], panelWidth: Double = 420, panelHeight: Double = 320) -> String {
    let margin = (left: 52.0, right: 12.0, top: 28.0, bottom: 40.0)
    let width = panelWidth * Double(max(panels.count, 1))
    let legendHeight = 22.0
    var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(panelHeight + legendHeight))" \
    font-family="sans-serif" font-size="11">
    <rect width="100%" height="100%" fill="white"/>

    """
    for (index, panel) in panels.enumerated() {
      let ox = Double(index) * panelWidth
      let all = panel.series.flatMap(\.points).filter { $0.bytes > 0 && $0.psnr.isFinite }
      guard !all.isEmpty else { continue }
      let minBytes = Double(all.map(\.bytes).min()!), maxBytes = Double(all.map(\.bytes).max()!)
      let lowX = floor(log10(minBytes) * 4) / 4, highX = max(ceil(log10(maxBytes) * 4) / 4, lowX + 0.25)
      let lowY = floor(all.map(\.psnr).min()!), highY = max(ceil(all.map(\.psnr).max()!), lowY + 1)
      let plotW = panelWidth - margin.left - margin.right, plotH = panelHeight - margin.top - margin.bottom
      func x(_ bytes: Int) -> Double { ox + margin.left + (log10(Double(bytes)) - lowX) / (highX - lowX) * plotW }
      func y(_ psnr: Double) -> Double { margin.top + (highY - psnr) / (highY - lowY) * plotH }
      svg += "<text x=\"\(f(ox + panelWidth / 2))\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">\(escape(panel.title))</text>\n"
      svg += "<rect x=\"\(f(ox + margin.left))\" y=\"\(f(margin.top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#444\"/>\n"
      // Grid: decades and 1-2-5 steps on the log axis, whole dB on the PSNR axis.
      var decade = pow(10, floor(lowX))
      while log10(decade) <= highX {
        for m in [1.0, 2.0, 5.0] {
          let v = decade * m
          let lv = log10(v)
          if lv >= lowX && lv <= highX {
            let px = ox + margin.left + (lv - lowX) / (highX - lowX) * plotW
            svg += "<line x1=\"\(f(px))\" y1=\"\(f(margin.top))\" x2=\"\(f(px))\" y2=\"\(f(margin.top + plotH))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(f(px))\" y=\"\(f(margin.top + plotH + 14))\" text-anchor=\"middle\">\(Int(v))</text>\n"
          }
        }
        decade *= 10
      }
      let stepY = (highY - lowY) > 12 ? 2.0 : 1.0
      var db = lowY
      while db <= highY {
        svg += "<line x1=\"\(f(ox + margin.left))\" y1=\"\(f(y(db)))\" x2=\"\(f(ox + margin.left + plotW))\" y2=\"\(f(y(db)))\" stroke=\"#eee\"/>\n"
        svg += "<text x=\"\(f(ox + margin.left - 4))\" y=\"\(f(y(db) + 4))\" text-anchor=\"end\">\(Int(db))</text>\n"
        db += stepY
      }
      svg += "<text x=\"\(f(ox + margin.left + plotW / 2))\" y=\"\(f(panelHeight - 8))\" text-anchor=\"middle\">bytes (log)</text>\n"
      svg += "<text transform=\"translate(\(f(ox + 14)),\(f(margin.top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">RGB PSNR (dB)</text>\n"
      for (k, series) in panel.series.enumerated() {
        let points = series.points.filter { $0.bytes > 0 && $0.psnr.isFinite }.sorted { $0.bytes < $1.bytes }
        guard !points.isEmpty else { continue }
        let colour = colours[k % colours.count]
        let path = points.map { "\(f(x($0.bytes))),\(f(y($0.psnr)))" }.joined(separator: " ")
        svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"\(k == 0 ? 2.2 : 1.4)\" points=\"\(path)\"/>\n"
      }
    }
    // One legend for all panels.
    let labels = panels.first?.series.map(\.label) ?? []
    var lx = 12.0
    for (k, label) in labels.enumerated() {
      let colour = colours[k % colours.count]
      svg += "<line x1=\"\(f(lx))\" y1=\"\(f(panelHeight + 10))\" x2=\"\(f(lx + 18))\" y2=\"\(f(panelHeight + 10))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
      svg += "<text x=\"\(f(lx + 22))\" y=\"\(f(panelHeight + 14))\">\(escape(label))</text>\n"
      lx += 34 + Double(label.count) * 6.5
    }
    svg += "</svg>\n"
    return svg
  }

  /// The thumbnail bench's mean curves, one panel per size.
  public static func render(_ report: ThumbnailBench.Report) -> String {
    render(report.sizes.map { size in
      Panel(title: "\(size.size)×\(size.size), mean of \(size.images.count) images",
            series: size.summaries.map { Series(label: $0.label, points: $0.meanCurve) })
    })
  }

  private static func f(_ v: Double) -> String { String(format: "%.1f", v) }

  private static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
  }
}
