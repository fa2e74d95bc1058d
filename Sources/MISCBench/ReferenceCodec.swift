import Foundation
import MISCImage
import MISCMetrics

/// The reference codecs of `misc bench thumbnails` and `misc eval`, run through their
/// command-line tools.
public enum ReferenceCodec: String, CaseIterable, Codable, Sendable {
  case webp
  /// The AVIF file as avifenc writes it.
  case avif
  /// The bare AV1 payload of the same AVIF files (the `mdat` contents): AV1 without its container.
  case av1
  case jxl
  case jpeg
  /// HEVC intra in a HEIF file (x265 through heif-enc): the nearest to the paper's VVC intra.
  case heic

  /// The codecs `misc bench thumbnails` sweeps by default (HEIC needs even sizes of 8 or more).
  public static let thumbnailBenchCodecs: [ReferenceCodec] = [.webp, .avif, .av1, .jxl, .jpeg]

  public var label: String {
    switch self {
    case .webp: "WebP"
    case .avif: "AVIF (file)"
    case .av1: "AV1 (bare payload)"
    case .jxl: "JPEG XL"
    case .jpeg: "JPEG"
    case .heic: "HEIC (HEVC intra)"
    }
  }

  /// The encoder and decoder tools each codec needs.
  public var tools: [String] {
    switch self {
    case .webp: ["cwebp", "dwebp"]
    case .avif, .av1: ["avifenc", "avifdec"]
    case .jxl: ["cjxl", "djxl"]
    case .jpeg: ["cjpeg"]  // decoded in-process by libturbojpeg
    case .heic: ["heif-enc", "heif-convert"]
    }
  }

  /// Sweeps every reference codec over `image`, returning one curve per codec.
  /// `directory` is a scratch directory the caller owns.
  public static func sweep(_ image: Image, codecs: [ReferenceCodec], in directory: URL) throws -> [ReferenceCodec: [RDPoint]] {
    let source = directory.appendingPathComponent("source.png").path
    try ImageIO.writePNG(image, to: source)
    var curves: [ReferenceCodec: [RDPoint]] = [:]
    func measure(_ decodedPath: String) throws -> Double {
      let decoded = try ImageIO.read(path: decodedPath).image
      guard decoded.width == image.width, decoded.height == image.height else {
        throw BenchError("\(decodedPath): decoded \(decoded.width)x\(decoded.height), expected \(image.width)x\(image.height)")
      }
      return PSNR.psnr(decoded, image)
    }
    let encoded = directory.appendingPathComponent("encoded").path
    let decoded = directory.appendingPathComponent("decoded.png").path
    if codecs.contains(.webp) {
      curves[.webp] = try stride(from: 0, through: 100, by: 5).map { q in
        try ExternalTool.run("cwebp", ["-quiet", "-q", "\(q)", "-m", "6", "-sharp_yuv", source, "-o", encoded])
        try ExternalTool.run("dwebp", ["-quiet", encoded, "-o", decoded])
        return RDPoint(bytes: try fileSize(encoded), psnr: try measure(decoded), setting: "q\(q)")
      }
    }
    if codecs.contains(.avif) || codecs.contains(.av1) {
      var file: [RDPoint] = [], bare: [RDPoint] = []
      for quantizer in stride(from: 63, through: 3, by: -4) {
        try ExternalTool.run("avifenc", ["-j", "1", "-s", "0", "-y", "420", "--min", "\(quantizer)", "--max", "\(quantizer)",
                                         source, "-o", encoded + ".avif"])
        try ExternalTool.run("avifdec", [encoded + ".avif", decoded])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: encoded + ".avif")))
        guard let payload = ISOBMFF.payload(of: "mdat", in: bytes) else { throw BenchError("avifenc wrote no mdat box") }
        let psnr = try measure(decoded)
        file.append(RDPoint(bytes: bytes.count, psnr: psnr, setting: "q\(quantizer)"))
        bare.append(RDPoint(bytes: payload.count, psnr: psnr, setting: "q\(quantizer)"))
      }
      if codecs.contains(.avif) { curves[.avif] = file }
      if codecs.contains(.av1) { curves[.av1] = bare }
    }
    if codecs.contains(.jxl) {
      curves[.jxl] = try stride(from: 5, through: 95, by: 5).map { q in
        try ExternalTool.run("cjxl", ["-q", "\(q)", source, encoded + ".jxl"])
        try ExternalTool.run("djxl", [encoded + ".jxl", decoded, "--quiet"])
        return RDPoint(bytes: try fileSize(encoded + ".jxl"), psnr: try measure(decoded), setting: "q\(q)")
      }
    }
    if codecs.contains(.jpeg) {
      // cjpeg reads PPM (not PNG) in every libjpeg-turbo build.
      let ppm = directory.appendingPathComponent("source.ppm")
      try Data(Array("P6\n\(image.width) \(image.height)\n255\n".utf8) + image.pixels).write(to: ppm)
      curves[.jpeg] = try stride(from: 5, through: 95, by: 5).map { q in
        try ExternalTool.run("cjpeg", ["-quality", "\(q)", "-optimize", "-outfile", encoded + ".jpg", ppm.path])
        return RDPoint(bytes: try fileSize(encoded + ".jpg"), psnr: try measure(encoded + ".jpg"), setting: "q\(q)")
      }
    }
    if codecs.contains(.heic) {
      let input = CodecInput(png: source, ppm: nil)
      curves[.heic] = try stride(from: 0, to: ReferenceCodec.heic.ladder.count, by: 5).map { index in
        let bitstream = encoded + ".heic"
        try ReferenceCodec.heic.encode(input, setting: index, to: bitstream)
        let psnr = PSNR.psnr(try ReferenceCodec.heic.decode(bitstream, scratch: decoded), image)
        return RDPoint(bytes: try fileSize(bitstream), psnr: psnr, setting: ReferenceCodec.heic.ladder[index])
      }
    }
    return curves
  }

  static func fileSize(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.size] as? NSNumber)?.intValue ?? 0
  }
}
