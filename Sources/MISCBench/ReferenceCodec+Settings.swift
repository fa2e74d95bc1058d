import Foundation
import MISCImage

/// The source image of one encode, written in the formats the tools read.
public struct CodecInput: Sendable {
  public var png: String
  /// The same image as binary PPM (cjpeg reads PPM, not PNG, in every libjpeg-turbo build).
  public var ppm: String?

  public init(png: String, ppm: String?) {
    self.png = png
    self.ppm = ppm
  }

  /// Writes `image` as `stem`.png and `stem`.ppm.
  public static func write(_ image: Image, stem: String) throws -> CodecInput {
    let input = CodecInput(png: stem + ".png", ppm: stem + ".ppm")
    try ImageIO.writePNG(image, to: input.png)
    try Data(Array("P6\n\(image.width) \(image.height)\n255\n".utf8) + image.pixels).write(to: URL(fileURLWithPath: stem + ".ppm"))
    return input
  }
}

extension ReferenceCodec {
  /// Every setting the matched-rate search may pick, from the smallest file to the largest
  /// (sizes grow with the index, though not always strictly).
  public var ladder: [String] {
    switch self {
    case .jpeg: (1...100).map { "q\($0)" }
    case .webp: (0...100).map { "q\($0)" }
    // avifenc's quantizer: 63 is the coarsest.
    case .avif, .av1: (0...63).reversed().map { "qp\($0)" }
    // cjxl's butteraugli distance, geometric from 25 (its largest) down to 0.5.
    case .jxl: (0..<48).map { String(format: "d%.2f", 25 * pow(0.5 / 25, Double($0) / 47)) }
    case .heic: (0...100).map { "q\($0)" }
    }
  }

  /// Encodes `input` at `ladder[setting]` into `bitstream`.
  public func encode(_ input: CodecInput, setting: Int, to bitstream: String) throws {
    let value = String(ladder[setting].drop { $0.isLetter })
    switch self {
    case .jpeg:
      guard let ppm = input.ppm else { throw BenchError("cjpeg needs a PPM source") }
      try ExternalTool.run("cjpeg", ["-quality", value, "-optimize", "-outfile", bitstream, ppm])
    case .webp:
      try ExternalTool.run("cwebp", ["-quiet", "-q", value, "-m", "6", "-sharp_yuv", input.png, "-o", bitstream])
    case .avif, .av1:
      // Speed 6: about 0.1 s for a Kodak image; speed 0 (the thumbnail bench's) takes seconds.
      try ExternalTool.run("avifenc", ["-j", "1", "-s", "6", "-y", "420", "--min", value, "--max", value, input.png, "-o", bitstream])
    case .jxl:
      try ExternalTool.run("cjxl", ["-d", value, "--quiet", input.png, bitstream])
    case .heic:
      try ExternalTool.run("heif-enc", ["-q", value, "-o", bitstream, input.png])
    }
  }

  /// Decodes `bitstream`; `scratch` is a PNG path the decoder may write.
  public func decode(_ bitstream: String, scratch: String) throws -> Image {
    switch self {
    case .jpeg: return try ImageIO.read(path: bitstream).image
    case .webp: try ExternalTool.run("dwebp", ["-quiet", bitstream, "-o", scratch])
    case .avif, .av1: try ExternalTool.run("avifdec", [bitstream, scratch])
    case .jxl: try ExternalTool.run("djxl", [bitstream, scratch, "--quiet"])
    case .heic: try ExternalTool.run("heif-convert", [bitstream, scratch])
    }
    return try ImageIO.read(path: scratch).image
  }

  /// The bitstream's file name extension.
  public var fileExtension: String {
    switch self {
    case .jpeg: "jpg"
    case .webp: "webp"
    case .avif, .av1: "avif"
    case .jxl: "jxl"
    case .heic: "heic"
    }
  }

  /// The encoder's version line, as the records state it ("cwebp 1.2.4").
  public var version: String {
    let tool = tools[0]
    let arguments: [String] = switch self {
    case .jpeg: ["-version"]
    case .webp: ["-version"]
    case .avif, .av1: ["--version"]
    case .jxl: ["--version"]
    case .heic: ["--help"]
    }
    let text = (try? ExternalTool.output(tool, arguments)) ?? ""
    let line = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
      .first { $0.range(of: #"\d+\.\d+"#, options: .regularExpression) != nil } ?? "unknown version"
    return line.hasPrefix(tool) ? line : "\(tool) \(line)"
  }
}
