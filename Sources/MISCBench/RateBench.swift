import Foundation
import MISC
import MISCCoding
import MISCImage
import MISCMetrics

/// `misc bench rate`: at one bpp target, the file size and I_ref PSNR of our rate control against
/// the paper's pixel path and a WebP thumbnail, each given the same whole-file byte budget and the
/// same container framing, and against what a user would pick instead: a plain AVIF file at full
/// resolution and one downscaled by the best factor per image, each within the same whole-file
/// byte budget (an AVIF file carries its own framing, so it gets the whole budget).
public enum RateBench {
  public struct Entry: Codable, Sendable {
    public var bytes: Int
    public var bitsPerPixel: Double
    /// PSNR of I_ref (the bicubic upsample of the thumbnail) against the original, in dB.
    public var referencePSNR: Double
    /// The thumbnail coded, e.g. "64x43 q37".
    public var thumbnail: String
    /// False when even the method's smallest file exceeds the budget; the entry is then a
    /// mid-grey image at no cost (what the user gets within the budget), not that file.
    public var fits: Bool = true
  }

  public struct Row: Codable, Sendable {
    public var name: String
    public var width: Int
    public var height: Int
    public var budgetBytes: Int
    public var ours: Entry
    /// The reference rows; nil when the bench ran without them (`references: false`).
    public var pixel: Entry?
    public var webp: Entry?
    /// AVIF at full resolution, the best quantizer within the budget (`MatchedRate.code`).
    public var avif: Entry?
    /// AVIF downscaled by 1/2, 1/4 or 1/8 (the best per image) and upsampled bicubically
    /// (`MatchedRate.codeDownscaled`).
    public var avifDownscaled: Entry?
  }

  public struct Mean: Codable, Sendable {
    public var method: String
    public var bitsPerPixel: Double
    public var referencePSNR: Double
  }

  public struct Report: Codable, Sendable {
    public var bitsPerPixel: Double
    /// The format version our files were written in.
    public var formatVersion: Int
    public var rows: [Row]
    public var means: [Mean]
    /// Mean wall time of our rate control per image, in milliseconds.
    public var oursMilliseconds: Double
    /// Mean of our file bytes over the budget.
    public var oursBudgetUse: Double
  }

  /// With `references` false only our rate control runs (to time it); the reference rows are nil.
  /// `formatVersion` is the version our files are written in (`EncoderConfiguration.formatVersion`,
  /// the current one by default): an older one compares versions.
  public static func run(dataset: String, bitsPerPixel: Double, references: Bool = true, formatVersion: Int = Container.version,
                         log: (String) -> Void = { _ in }) async throws -> Report {
    if references { try ExternalTool.ensureInstalled(ReferenceCodec.webp.tools + ReferenceCodec.avif.tools, log: log) }
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
      var configuration = EncoderConfiguration(target: target)
      configuration.formatVersion = formatVersion
      let start = Date()
      let result = try await MISCEncoder(configuration: configuration).encode(image)
      seconds += Date().timeIntervalSince(start)
      let ours = Entry(bytes: result.bytes.count, bitsPerPixel: Double(result.bytes.count * 8) / pixels,
                       referencePSNR: result.referencePSNR,
                       thumbnail: result.thumbnailSize.map { "\($0.width)x\($0.height) q\(result.thumbnailQuality ?? 0)" } ?? "none")

      // The container's framing without a thumbnail: the other two pay it too.
      let contents = Container.Contents(width: image.width, height: image.height, level: target.levelCode)
      let framing = try Container.Prefix(contents, profile: FormatProfile.forVersion(formatVersion))
        .finish(thumbnail: nil, quality: 0).bytes.count
      let room = budget - framing

      let pixel = references ? pixelPath(image, room: room, framing: framing) : nil
      let webp = references ? try webpPath(image, room: room, framing: framing, in: scratch) : nil
      let avif = references ? try avifPath(image, budget: budget, downscaled: false, in: scratch) : nil
      let avifDownscaled = references ? try avifPath(image, budget: budget, downscaled: true, in: scratch) : nil
      rows.append(Row(name: name, width: image.width, height: image.height, budgetBytes: budget, ours: ours, pixel: pixel, webp: webp,
                      avif: avif, avifDownscaled: avifDownscaled))
    }
    func mean(_ method: String, _ entry: (Row) -> Entry?) -> Mean? {
      let entries = rows.compactMap(entry)
      guard !entries.isEmpty else { return nil }
      let n = Double(entries.count)
      return Mean(method: method, bitsPerPixel: entries.map(\.bitsPerPixel).reduce(0, +) / n,
                  referencePSNR: entries.map(\.referencePSNR).reduce(0, +) / n)
    }
    let n = Double(max(rows.count, 1))
    return Report(bitsPerPixel: bitsPerPixel, formatVersion: formatVersion, rows: rows,
                  means: [mean("misc", \.ours), mean("pixel", \.pixel), mean("webp", \.webp),
                          mean("avif", \.avif), mean("avif↓", \.avifDownscaled)].compactMap { $0 },
                  oursMilliseconds: seconds * 1000 / n,
                  oursBudgetUse: rows.map { Double($0.ours.bytes) / Double($0.budgetBytes) }.reduce(0, +) / n)
  }

  /// The thumbnail long sides the pixel path and the WebP row try, smallest first, up to WebP's
  /// largest side; sizes above the format's largest thumbnail side or the image's long side are
  /// skipped. Version 4's thumbnails may be as large as the image, so the reference rows may too.
  static let longSides = [4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 36, 40, 44, 48, 52, 56,
                          64, 72, 80, 88, 96, 112, 128, 144, 160, 192, 224, 256,
                          288, 320, 352, 384, 448, 512, 576, 640, 704, 768, 896, 1024,
                          1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 8192, 12288, 16383]

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

  /// A plain AVIF file in place of a MISC file, within the same whole-file `budget`: the
  /// matched-rate search of `misc eval` (bisection over avifenc's quantizer ladder), at full
  /// resolution or in its downscaled mode. When not even the coarsest file fits, the entry is
  /// mid-grey at no cost and says so.
  static func avifPath(_ image: Image, budget: Int, downscaled: Bool, in directory: URL) throws -> Entry {
    let pixels = Double(image.pixelCount)
    let scratch = directory.appendingPathComponent(downscaled ? "avif-downscaled" : "avif")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    let coded = downscaled
      ? try MatchedRate.codeDownscaled(image, codec: .avif, target: budget, scratch: scratch)
      : try MatchedRate.code(image, codec: .avif, target: budget, scratch: scratch)
    guard coded.fits, coded.bytes <= budget else {
      return Entry(bytes: 0, bitsPerPixel: 0,
                   referencePSNR: PSNR.psnr(Image(width: image.width, height: image.height, fill: (128, 128, 128)), image),
                   thumbnail: "none (\(coded.settings) is \(coded.bytes) B)", fits: false)
    }
    return Entry(bytes: coded.bytes, bitsPerPixel: Double(coded.bytes * 8) / pixels,
                 referencePSNR: PSNR.psnr(coded.image, image), thumbnail: coded.settings)
  }

  public static func table(_ report: Report) -> String {
    var out = String(format: "target %.4f bpp, MISC format version %d; I_ref PSNR (dB) and file bpp per image\n",
                     report.bitsPerPixel, report.formatVersion)
    out += "image        budget   misc dB  bpp      pixel dB bpp      webp dB  bpp      avif dB  bpp      avif↓ dB bpp      misc thumbnail / avif↓\n"
    func cell(_ entry: Entry?) -> String {
      entry.map { String(format: "%6.2f   %.4f", $0.referencePSNR, $0.bitsPerPixel) } ?? "     -   -     "
    }
    for r in report.rows {
      out += String(format: "%-12@ %6d   ", r.name as NSString, r.budgetBytes)
      out += [cell(r.ours), cell(r.pixel), cell(r.webp), cell(r.avif), cell(r.avifDownscaled)].joined(separator: "  ")
      out += "  \(r.ours.thumbnail)" + (r.avifDownscaled.map { " / \($0.thumbnail)" } ?? "") + "\n"
    }
    for m in report.means {
      out += String(format: "mean %-6@ %6.2f dB at %.4f bpp\n", m.method as NSString, m.referencePSNR, m.bitsPerPixel)
    }
    out += String(format: "misc files: %.1f%% of the budget on average\n", report.oursBudgetUse * 100)
    out += String(format: "rate control: %.0f ms per image\n", report.oursMilliseconds)
    return out
  }
}
