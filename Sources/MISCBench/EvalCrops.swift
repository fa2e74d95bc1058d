import Foundation
import MISCImage

/// The report's crops: the same square of the original and of every decoded image, chosen on the
/// original as the most detailed one, so artefacts show.
public enum EvalCrops {
  /// The side of a crop, in pixels (smaller when the image is).
  public static let side = 192

  /// The crop's top-left corner and side: of the windows on a 16-pixel grid, the one with the
  /// largest sum of absolute neighbour differences of the luma (ties: the first).
  public static func box(_ image: Image) -> (x: Int, y: Int, side: Int) {
    let side = min(Self.side, image.width, image.height)
    let w = image.width, h = image.height
    // Detail per pixel: |Δx| + |Δy| of (r + g + b).
    var detail = [Int](repeating: 0, count: w * h)
    func luma(_ x: Int, _ y: Int) -> Int {
      let i = (y * w + x) * 3
      return Int(image.pixels[i]) + Int(image.pixels[i + 1]) + Int(image.pixels[i + 2])
    }
    for y in 0..<h {
      for x in 0..<w {
        let l = luma(x, y)
        detail[y * w + x] = (x + 1 < w ? abs(luma(x + 1, y) - l) : 0) + (y + 1 < h ? abs(luma(x, y + 1) - l) : 0)
      }
    }
    // Summed-area table for the window sums.
    var table = [Int](repeating: 0, count: (w + 1) * (h + 1))
    for y in 0..<h {
      var row = 0
      for x in 0..<w {
        row += detail[y * w + x]
        table[(y + 1) * (w + 1) + x + 1] = table[y * (w + 1) + x + 1] + row
      }
    }
    func sum(_ x: Int, _ y: Int) -> Int {
      table[(y + side) * (w + 1) + x + side] - table[y * (w + 1) + x + side] - table[(y + side) * (w + 1) + x] + table[y * (w + 1) + x]
    }
    var best = (x: (w - side) / 2, y: (h - side) / 2, score: -1)
    for y in stride(from: 0, through: h - side, by: 16) {
      for x in stride(from: 0, through: w - side, by: 16) {
        let s = sum(x, y)
        if s > best.score { best = (x, y, s) }
      }
    }
    return (best.x, best.y, side)
  }

  public static func crop(_ image: Image, _ box: (x: Int, y: Int, side: Int)) -> Image {
    var pixels = [UInt8](repeating: 0, count: box.side * box.side * 3)
    for row in 0..<box.side {
      let from = ((box.y + row) * image.width + box.x) * 3
      pixels.replaceSubrange(row * box.side * 3..<(row + 1) * box.side * 3, with: image.pixels[from..<from + box.side * 3])
    }
    return Image(width: box.side, height: box.side, pixels: pixels)
  }

  /// `crops/<dataset>/<image>/`.
  public static func directory(output: String, dataset: String, image: String) -> String {
    ((output as NSString).appendingPathComponent("crops") as NSString).appendingPathComponent("\(dataset)/\(image)")
  }

  /// The crop file of one record (`<codec>@<rate>.png`), or of the original (`original.png`).
  public static func path(output: String, dataset: String, image: String, codec: String?, rate: Double) -> String {
    let name = codec.map { "\($0)@\(String(format: "%g", rate)).png" } ?? "original.png"
    return (directory(output: output, dataset: dataset, image: image) as NSString).appendingPathComponent(name)
  }

  /// Writes the record's crop, and the original's when missing.
  static func save(original: Image, decoded: Image, record: EvalRecord, output: String) throws {
    let box = box(original)
    let folder = directory(output: output, dataset: record.dataset, image: record.image)
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let originalPath = path(output: output, dataset: record.dataset, image: record.image, codec: nil, rate: 0)
    if !FileManager.default.fileExists(atPath: originalPath) {
      try writeFileAtomically(try ImageIO.encodePNG(crop(original, box)), to: originalPath)
    }
    try writeFileAtomically(try ImageIO.encodePNG(crop(decoded, box)),
                            to: path(output: output, dataset: record.dataset, image: record.image, codec: record.codec, rate: record.rate))
  }
}
