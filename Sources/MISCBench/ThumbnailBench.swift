import Foundation
import MISCCoding
import MISCImage
import MISCMetrics

/// `misc bench thumbnails`: each dataset image's centre square, area-downsampled to each size,
/// coded by our `ThumbnailCodec` at every quality and by the reference codecs across their
/// quality range. Sizes are real bytes; quality is RGB PSNR against the downsampled square.
public enum ThumbnailBench {
  /// Our codec's curve key in reports.
  public static let ours = "misc"

  public struct ImageCurves: Codable, Sendable {
    public var name: String
    /// Curve per codec: "misc" and each `ReferenceCodec.rawValue`.
    public var curves: [String: [RDPoint]]
    /// Per-image BD-rate of ours against each reference, in percent.
    public var bdRates: [String: Double]
  }

  public struct CodecSummary: Codable, Sendable {
    public var codec: String
    public var label: String
    /// Mean over images of the per-image BD-rate of ours against this codec (nil for ours).
    public var bdRateOfOurs: Double?
    /// Images whose curves overlapped enough for a BD-rate.
    public var bdImages: Int
    /// Geometric-mean bytes this codec needs for each PSNR in `SizeReport.targets` (nil when
    /// some image's curve does not reach it).
    public var bytesAtTarget: [Double?]
    /// The mean curve: bytes and PSNR averaged over images setting by setting (what the plot draws).
    public var meanCurve: [RDPoint]
  }

  public struct SizeReport: Codable, Sendable {
    public var size: Int
    public var targets: [Double]
    public var summaries: [CodecSummary]
    public var images: [ImageCurves]
    /// Mean encode + decode time of our codec per call, in milliseconds.
    public var oursMillisecondsPerCall: Double
  }

  public struct Report: Codable, Sendable {
    public var dataset: String
    public var sizes: [SizeReport]
  }

  /// The PSNRs at which the table lists bytes, per thumbnail size.
  static func targets(size: Int) -> [Double] {
    size <= 16 ? [22, 25, 28] : size <= 32 ? [24, 27, 30] : [26, 29, 32]
  }

  /// The dataset's images (PNG, JPEG), sorted by name.
  public static func datasetFiles(_ directory: String) throws -> [String] {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory)
    let files = names.filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
    guard !files.isEmpty else { throw BenchError("\(directory): no PNG or JPEG images") }
    return files.map { (directory as NSString).appendingPathComponent($0) }
  }

  /// The centre square of `image`, area-downsampled to `size × size`.
  public static func centreSquare(_ image: Image, size: Int) -> Image {
    let side = min(image.width, image.height)
    let x0 = (image.width - side) / 2, y0 = (image.height - side) / 2
    var pixels = [UInt8](repeating: 0, count: side * side * 3)
    for y in 0..<side {
      let source = ((y0 + y) * image.width + x0) * 3
      pixels.replaceSubrange(y * side * 3..<(y + 1) * side * 3, with: image.pixels[source..<source + side * 3])
    }
    let square = Image(width: side, height: side, pixels: pixels)
    return side == size ? square : Resample.area(square, width: size, height: size)
  }

  /// Our codec at every quality.
  public static func sweepOurs(_ image: Image) throws -> (curve: [RDPoint], seconds: Double, calls: Int) {
    var points: [RDPoint] = []
    let start = Date()
    for quality in 0..<ThumbnailCodec.qualityLevels {
      let bytes = ThumbnailCodec.encode(rgb: image.pixels, width: image.width, height: image.height, quality: quality)
      let rgb = try ThumbnailCodec.decode(bytes, width: image.width, height: image.height)
      let decoded = Image(width: image.width, height: image.height, pixels: rgb)
      points.append(RDPoint(bytes: bytes.count, psnr: PSNR.psnr(decoded, image), setting: "q\(quality)"))
    }
    return (points, Date().timeIntervalSince(start), ThumbnailCodec.qualityLevels)
  }

  /// Runs the bench. Reference curves found in `reusing` (an earlier report on the same dataset)
  /// for the same image, size and codec are taken from it instead of running that encoder again,
  /// so iterating on our codec costs only our own sweep.
  public static func run(dataset: String, sizes: [Int], codecs: [ReferenceCodec] = ReferenceCodec.thumbnailBenchCodecs,
                         reusing previous: Report? = nil, log: (String) -> Void = { _ in }) throws -> Report {
    var stored: [String: [RDPoint]] = [:]
    for size in previous?.sizes ?? [] {
      for image in size.images {
        for (codec, curve) in image.curves where codec != ours { stored["\(size.size)/\(image.name)/\(codec)"] = curve }
      }
    }
    let files = try datasetFiles(dataset)
    let names = files.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension }
    // Only the codecs whose curves are not all stored need their tools.
    let toRun = codecs.filter { codec in
      !sizes.allSatisfy { size in names.allSatisfy { stored["\(size)/\($0)/\(codec.rawValue)"] != nil } }
    }
    try ExternalTool.ensureInstalled(Array(Set(toRun.flatMap(\.tools))).sorted(), log: log)
    let scratch = try ExternalTool.temporaryDirectory("bench-thumbnails")
    defer { try? FileManager.default.removeItem(at: scratch) }
    var perSize: [Int: [ImageCurves]] = [:]
    var timing: [Int: (seconds: Double, calls: Int)] = [:]
    for (index, file) in files.enumerated() {
      let name = names[index]
      log("[\(index + 1)/\(files.count)] \(name)")
      let original = try ImageIO.read(path: file).image
      for size in sizes {
        let thumbnail = centreSquare(original, size: size)
        let ours = try sweepOurs(thumbnail)
        let old = timing[size] ?? (0, 0)
        timing[size] = (old.seconds + ours.seconds, old.calls + ours.calls)
        var curves = [Self.ours: ours.curve]
        var missing: [ReferenceCodec] = []
        for codec in codecs {
          if let curve = stored["\(size)/\(name)/\(codec.rawValue)"] { curves[codec.rawValue] = curve } else { missing.append(codec) }
        }
        for (codec, curve) in try ReferenceCodec.sweep(thumbnail, codecs: missing, in: scratch) {
          curves[codec.rawValue] = curve
        }
        var bd: [String: Double] = [:]
        for codec in codecs {
          if let reference = curves[codec.rawValue], let rate = BjontegaardDelta.rate(reference: reference, test: ours.curve) {
            bd[codec.rawValue] = rate
          }
        }
        perSize[size, default: []].append(ImageCurves(name: name, curves: curves, bdRates: bd))
      }
    }
    let reports = sizes.map { size in
      let images = perSize[size] ?? []
      let keys = [Self.ours] + codecs.map(\.rawValue)
      let summaries = keys.map { key in
        let rates = images.compactMap { $0.bdRates[key] }
        let perImage = images.compactMap { $0.curves[key] }
        return CodecSummary(
          codec: key,
          label: ReferenceCodec(rawValue: key)?.label ?? "MISC thumbnail",
          bdRateOfOurs: key == Self.ours || rates.isEmpty ? nil : rates.reduce(0, +) / Double(rates.count),
          bdImages: rates.count,
          bytesAtTarget: targets(size: size).map { bytesAt(psnr: $0, curves: perImage) },
          meanCurve: meanCurve(perImage))
      }
      let t = timing[size] ?? (0, 1)
      return SizeReport(size: size, targets: targets(size: size), summaries: summaries, images: images,
                        oursMillisecondsPerCall: t.seconds * 1000 / Double(max(t.calls, 1)))
    }
    return Report(dataset: dataset, sizes: reports)
  }

  /// Geometric mean over curves of the bytes needed for `psnr` (log-linear interpolation on each
  /// curve's envelope); nil when a curve does not reach it.
  static func bytesAt(psnr: Double, curves: [[RDPoint]]) -> Double? {
    guard !curves.isEmpty else { return nil }
    var logSum = 0.0
    for curve in curves {
      let e = BjontegaardDelta.envelope(curve)
      guard let upper = e.firstIndex(where: { $0.psnr >= psnr }) else { return nil }
      if upper == 0 {
        guard e[0].psnr == psnr else { return nil }
        logSum += log(Double(e[0].bytes))
        continue
      }
      let a = e[upper - 1], b = e[upper]
      let t = (psnr - a.psnr) / (b.psnr - a.psnr)
      logSum += log(Double(a.bytes)) * (1 - t) + log(Double(b.bytes)) * t
    }
    return exp(logSum / Double(curves.count))
  }

  /// Bytes and PSNR averaged over images, setting by setting.
  static func meanCurve(_ curves: [[RDPoint]]) -> [RDPoint] {
    guard let count = curves.map(\.count).min(), count > 0 else { return [] }
    return (0..<count).map { i in
      let bytes = curves.map { Double($0[i].bytes) }.reduce(0, +) / Double(curves.count)
      let psnr = curves.map { $0[i].psnr }.reduce(0, +) / Double(curves.count)
      return RDPoint(bytes: Int(bytes.rounded()), psnr: psnr, setting: curves[0][i].setting)
    }
  }

  /// The report as readable tables, one per size.
  public static func table(_ report: Report) -> String {
    var out = ""
    for size in report.sizes {
      let images = size.images.count
      out += "\n\(size.size)×\(size.size) thumbnails, \(images) images (BD-rate: ours against the codec; negative = ours smaller)\n"
      let heads = size.targets.map { String(format: "B@%.0fdB", $0) }
      out += pad("codec", 20) + pad("BD-rate", 10, right: true) + heads.map { pad($0, 10, right: true) }.joined() + "\n"
      for s in size.summaries {
        let bd = s.bdRateOfOurs.map { String(format: "%+.1f%%", $0) } ?? (s.codec == ours ? "—" : "n/a")
        let bytes = s.bytesAtTarget.map { $0.map { String(format: "%.0f", $0) } ?? "—" }
        out += pad(s.label, 20) + pad(bd, 10, right: true) + bytes.map { pad($0, 10, right: true) }.joined() + "\n"
      }
      out += String(format: "ours: %.2f ms per encode+decode\n", size.oursMillisecondsPerCall)
    }
    return out
  }

  private static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return right ? fill + s : s + fill
  }
}
