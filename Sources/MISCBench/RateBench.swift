import Foundation
import MISC
import MISCCoding
import MISCImage
import MISCMetrics

/// `misc bench rate`: at one bpp target, the file size and I_ref PSNR of our rate control against
/// the paper's pixel path and a WebP thumbnail, each given the same whole-file byte budget and the
/// same container framing.
public enum RateBench {
  public struct Entry: Codable, Sendable {
    public var bytes: Int
    public var bitsPerPixel: Double
    /// PSNR of I_ref (the bicubic upsample of the thumbnail) against the original, in dB.
    public var referencePSNR: Double
    /// The thumbnail coded, e.g. "64x43 q37".
    public var thumbnail: String
  }

  public struct Row: Codable, Sendable {
    public var name: String
    public var width: Int
    public var height: Int
    public var budgetBytes: Int
    public var ours: Entry
    public var pixel: Entry
    public var webp: Entry
  }

  public struct Mean: Codable, Sendable {
    public var method: String
    public var bitsPerPixel: Double
    public var referencePSNR: Double
  }

  public struct Report: Codable, Sendable {
    public var bitsPerPixel: Double
    public var rows: [Row]
    public var means: [Mean]
    /// Mean wall time of our rate control per image, in milliseconds.
    public var oursMilliseconds: Double
  }

  public static func run(dataset: String, bitsPerPixel: Double, log: (String) -> Void = { _ in }) async throws -> Report {
    try ExternalTool.ensureInstalled(ReferenceCodec.webp.tools, log: log)
    let files = try ThumbnailBench.datasetFiles(dataset)
    let scratch = try ExternalTool.temporaryDirectory("bench-rate")
    defer { try? FileManager.default.removeItem(at: scratch) }
    var rows: [Row] = []
    var seconds = 0.0
    for (index, file) in files.enumerated() {
      let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
      log("[\(index + 1)/\(files.count)] \(name)")
      let image = try ImageIO.read(path: file).image
      let pixels = Double(image.pixelCount)
      let target = RateTarget.bitsPerPixel(bitsPerPixel)
      let budget = target.budgetBytes(pixels: image.pixelCount)

      // (a) Our encoder's rate control, thumbnail only (no semantic layers).
      let start = Date()
      let result = try await MISCEncoder(configuration: EncoderConfiguration(target: target)).encode(image)
      seconds += Date().timeIntervalSince(start)
      let ours = Entry(bytes: result.bytes.count, bitsPerPixel: Double(result.bytes.count * 8) / pixels,
                       referencePSNR: result.referencePSNR,
                       thumbnail: result.thumbnailSize.map { "\($0.width)x\($0.height) q\(result.thumbnailQuality ?? 0)" } ?? "none")

      // The container's framing without a thumbnail: the other two pay it too.
      let contents = Container.Contents(width: image.width, height: image.height, level: target.levelCode)
      let framing = try Container.Prefix(contents).finish(thumbnail: nil, quality: 0).bytes.count
      let room = budget - framing

      let pixel = pixelPath(image, room: room, framing: framing)
      let webp = try webpPath(image, room: room, framing: framing, in: scratch)
      rows.append(Row(name: name, width: image.width, height: image.height, budgetBytes: budget, ours: ours, pixel: pixel, webp: webp))
    }
    func mean(_ method: String, _ entry: (Row) -> Entry) -> Mean {
      let n = Double(max(rows.count, 1))
      return Mean(method: method, bitsPerPixel: rows.map { entry($0).bitsPerPixel }.reduce(0, +) / n,
                  referencePSNR: rows.map { entry($0).referencePSNR }.reduce(0, +) / n)
    }
    return Report(bitsPerPixel: bitsPerPixel, rows: rows,
                  means: [mean("misc", \.ours), mean("pixel", \.pixel), mean("webp", \.webp)],
                  oursMilliseconds: seconds * 1000 / Double(max(rows.count, 1)))
  }

  /// The candidate thumbnail long sides, as the rate control tries them.
  static var longSides: [Int] { RateControl().longSides }

  static func upsampledPSNR(_ thumbnail: Image, _ image: Image) -> Double {
    PSNR.psnr(Resample.bicubic(thumbnail, width: image.width, height: image.height), image)
  }

  /// The paper's pixel path: the largest thumbnail whose raw 5-bit samples fit in `room` bytes.
  static func pixelPath(_ image: Image, room: Int, framing: Int) -> Entry {
    let pixels = Double(image.pixelCount)
    let grey = Entry(bytes: framing, bitsPerPixel: Double(framing * 8) / pixels,
                     referencePSNR: PSNR.psnr(Image(width: image.width, height: image.height, fill: (128, 128, 128)), image),
                     thumbnail: "none")
    var best = grey
    for side in longSides where side <= min(max(image.width, image.height), ThumbnailCodec.maxSide) {
      let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: side)
      let bytes = PixelThumbnailCodec.byteCount(width: size.width, height: size.height)
      guard bytes <= room else { break }
      let small = Resample.area(image, width: size.width, height: size.height)
      let coded = PixelThumbnailCodec.encode(rgb: small.pixels, width: size.width, height: size.height)
      guard let rgb = try? PixelThumbnailCodec.decode(coded, width: size.width, height: size.height) else { continue }
      let psnr = upsampledPSNR(Image(width: size.width, height: size.height, pixels: rgb), image)
      if psnr > best.referencePSNR {
        best = Entry(bytes: framing + bytes, bitsPerPixel: Double((framing + bytes) * 8) / pixels, referencePSNR: psnr,
                     thumbnail: "\(size.width)x\(size.height) 5-bit raw")
      }
    }
    return best
  }

  /// A WebP thumbnail in place of ours: for each size the highest cwebp quality that fits
  /// `room` bytes (bisection), keeping the size with the best I_ref PSNR.
  static func webpPath(_ image: Image, room: Int, framing: Int, in directory: URL) throws -> Entry {
    let pixels = Double(image.pixelCount)
    var best = Entry(bytes: framing, bitsPerPixel: Double(framing * 8) / pixels,
                     referencePSNR: PSNR.psnr(Image(width: image.width, height: image.height, fill: (128, 128, 128)), image),
                     thumbnail: "none")
    let source = directory.appendingPathComponent("thumbnail.png").path
    let encoded = directory.appendingPathComponent("thumbnail.webp").path
    let decoded = directory.appendingPathComponent("decoded.png").path
    var worse = 0
    for side in longSides where side <= min(max(image.width, image.height), ThumbnailCodec.maxSide) {
      let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: side)
      try ImageIO.writePNG(Resample.area(image, width: size.width, height: size.height), to: source)
      var low = 0, high = 100
      var fit: (quality: Int, bytes: Int)? = nil
      while low <= high {
        let q = (low + high) / 2
        try ExternalTool.run("cwebp", ["-quiet", "-q", "\(q)", "-m", "6", "-sharp_yuv", source, "-o", encoded])
        let bytes = try ReferenceCodec.fileSize(encoded)
        if bytes <= room { fit = (q, bytes); low = q + 1 } else { high = q - 1 }
      }
      guard let fit else { break }
      try ExternalTool.run("cwebp", ["-quiet", "-q", "\(fit.quality)", "-m", "6", "-sharp_yuv", source, "-o", encoded])
      try ExternalTool.run("dwebp", ["-quiet", encoded, "-o", decoded])
      let psnr = upsampledPSNR(try ImageIO.read(path: decoded).image, image)
      if psnr > best.referencePSNR {
        best = Entry(bytes: framing + fit.bytes, bitsPerPixel: Double((framing + fit.bytes) * 8) / pixels, referencePSNR: psnr,
                     thumbnail: "\(size.width)x\(size.height) q\(fit.quality)")
        worse = 0
      } else {
        worse += 1
        if worse >= 3 { break }
      }
    }
    return best
  }

  public static func table(_ report: Report) -> String {
    var out = String(format: "target %.4f bpp; I_ref PSNR (dB) and file bpp per image\n", report.bitsPerPixel)
    out += "image        budget   misc dB  bpp     pixel dB bpp     webp dB  bpp     misc thumbnail\n"
    for r in report.rows {
      out += String(format: "%-12@ %6d   %6.2f   %.4f  %6.2f   %.4f  %6.2f   %.4f  %@\n",
                    r.name as NSString, r.budgetBytes, r.ours.referencePSNR, r.ours.bitsPerPixel,
                    r.pixel.referencePSNR, r.pixel.bitsPerPixel, r.webp.referencePSNR, r.webp.bitsPerPixel, r.ours.thumbnail as NSString)
    }
    for m in report.means {
      out += String(format: "mean %-6@ %6.2f dB at %.4f bpp\n", m.method as NSString, m.referencePSNR, m.bitsPerPixel)
    }
    out += String(format: "rate control: %.0f ms per image\n", report.oursMilliseconds)
    return out
  }
}
