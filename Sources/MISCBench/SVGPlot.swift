import Foundation

/// A hand-written SVG plot: one or more panels, a log axis across (bytes or bpp) against a
/// linear one (PSNR or any metric), one polyline per codec with a marker on each point.
public enum SVGPlot {
  /// One point of a curve.
  public struct Point: Sendable, Hashable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) {
      self.x = x
      self.y = y
    }
  }

  public struct Series: Sendable {
    public var label: String
    public var points: [Point]
    /// A rate–distortion curve: bytes across, PSNR up.
    public init(label: String, points: [RDPoint]) {
      self.label = label
      self.points = points.map { Point(x: Double($0.bytes), y: $0.psnr) }
    }
    public init(label: String, xy: [Point]) {
      self.label = label
      self.points = xy
    }
  }

  public struct Panel: Sendable {
    public var title: String
    public var series: [Series]
    /// The axis titles, units included.
    public var xLabel: String
    public var yLabel: String
    public init(title: String, series: [Series], xLabel: String = "bytes (log)", yLabel: String = "RGB PSNR (dB)") {
      self.title = title
      self.series = series
      self.xLabel = xLabel
      self.yLabel = yLabel
    }
  }

  static let colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
                        "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#7b4173"]

  public static func render(_ panels: [Panel], panelWidth: Double = 420, panelHeight: Double = 320) -> String {
    let margin = (left: 56.0, right: 12.0, top: 28.0, bottom: 40.0)
    let width = panelWidth * Double(max(panels.count, 1))
    // One legend for all panels, wrapped over as many rows as it needs.
    let labels = panels.first?.series.map(\.label) ?? []
    var legend: [(x: Double, row: Int)] = []
    var lx = 12.0, row = 0
    for label in labels {
      let w = 34 + Double(label.count) * 6.5
      if lx + w > width - 8 && lx > 12 { lx = 12; row += 1 }
      legend.append((lx, row))
      lx += w
    }
    let legendHeight = 22.0 * Double(row + 1)
    var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(panelHeight + legendHeight))" \
    font-family="sans-serif" font-size="11">
    <rect width="100%" height="100%" fill="white"/>

    """
    for (index, panel) in panels.enumerated() {
      let ox = Double(index) * panelWidth
      let all = panel.series.flatMap(\.points).filter { $0.x > 0 && $0.x.isFinite && $0.y.isFinite }
      guard !all.isEmpty else { continue }
      let minX = all.map(\.x).min()!, maxX = all.map(\.x).max()!
      let lowX = floor(log10(minX) * 4) / 4, highX = max(ceil(log10(maxX) * 4) / 4, lowX + 0.25)
      let (lowY, highY, stepY) = niceRange(all.map(\.y).min()!, all.map(\.y).max()!)
      let plotW = panelWidth - margin.left - margin.right, plotH = panelHeight - margin.top - margin.bottom
      func x(_ value: Double) -> Double { ox + margin.left + (log10(value) - lowX) / (highX - lowX) * plotW }
      func y(_ value: Double) -> Double { margin.top + (highY - value) / (highY - lowY) * plotH }
      svg += "<text x=\"\(f(ox + panelWidth / 2))\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">\(escape(panel.title))</text>\n"
      svg += "<rect x=\"\(f(ox + margin.left))\" y=\"\(f(margin.top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#444\"/>\n"
      // Grid: 1-2-5 steps of each decade on the log axis, round steps on the linear one.
      var decade = pow(10, floor(lowX))
      while log10(decade) <= highX {
        for m in [1.0, 2.0, 5.0] {
          let v = decade * m
          let lv = log10(v)
          if lv >= lowX - 1e-9 && lv <= highX + 1e-9 {
            let px = ox + margin.left + (lv - lowX) / (highX - lowX) * plotW
            svg += "<line x1=\"\(f(px))\" y1=\"\(f(margin.top))\" x2=\"\(f(px))\" y2=\"\(f(margin.top + plotH))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(f(px))\" y=\"\(f(margin.top + plotH + 14))\" text-anchor=\"middle\">\(tick(v))</text>\n"
          }
        }
        decade *= 10
      }
      var value = lowY
      while value <= highY + stepY * 1e-6 {
        svg += "<line x1=\"\(f(ox + margin.left))\" y1=\"\(f(y(value)))\" x2=\"\(f(ox + margin.left + plotW))\" y2=\"\(f(y(value)))\" stroke=\"#eee\"/>\n"
        svg += "<text x=\"\(f(ox + margin.left - 4))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\">\(tick(value))</text>\n"
        value += stepY
      }
      svg += "<text x=\"\(f(ox + margin.left + plotW / 2))\" y=\"\(f(panelHeight - 8))\" text-anchor=\"middle\">\(escape(panel.xLabel))</text>\n"
      svg += "<text transform=\"translate(\(f(ox + 14)),\(f(margin.top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(panel.yLabel))</text>\n"
      for (k, series) in panel.series.enumerated() {
        let points = series.points.filter { $0.x > 0 && $0.x.isFinite && $0.y.isFinite }.sorted { $0.x < $1.x }
        guard !points.isEmpty else { continue }
        let colour = colours[k % colours.count]
        let path = points.map { "\(f(x($0.x))),\(f(y($0.y)))" }.joined(separator: " ")
        svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"\(k == 0 ? 2.2 : 1.4)\" points=\"\(path)\"/>\n"
        if points.count <= 12 {
          for p in points { svg += "<circle cx=\"\(f(x(p.x)))\" cy=\"\(f(y(p.y)))\" r=\"2.5\" fill=\"\(colour)\"/>\n" }
        }
      }
    }
    for (k, label) in labels.enumerated() {
      let colour = colours[k % colours.count]
      let (lx, row) = legend[k]
      let ly = panelHeight + 10 + 22 * Double(row)
      svg += "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 18))\" y2=\"\(f(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
      svg += "<text x=\"\(f(lx + 22))\" y=\"\(f(ly + 4))\">\(escape(label))</text>\n"
    }
    svg += "</svg>\n"
    return svg
  }

  /// A range covering [low, high] in round steps (1, 2 or 5 times a power of ten), 4 to 10 of them.
  static func niceRange(_ low: Double, _ high: Double) -> (Double, Double, Double) {
    var (low, high) = (low, high)
    if high - low < 1e-9 { (low, high) = (low - max(abs(low) * 0.05, 0.01), high + max(abs(high) * 0.05, 0.01)) }
    let raw = (high - low) / 6
    let power = pow(10, floor(log10(raw)))
    let step = [1.0, 2.0, 5.0, 10.0].map { $0 * power }.first { $0 >= raw } ?? 10 * power
    return (floor(low / step) * step, max(ceil(high / step) * step, floor(low / step) * step + step), step)
  }

  private static func tick(_ v: Double) -> String {
    if abs(v) < 1e-12 { return "0" }
    return String(format: "%g", (v * 1e6).rounded() / 1e6)
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
