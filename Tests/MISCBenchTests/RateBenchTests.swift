import Foundation
import MISC
import MISCImage
import Testing
@testable import MISCBench

/// The AVIF reference rows of `misc bench rate` keep to the whole-file budget MISC gets.
@Suite struct RateBenchAVIFTests {
  static let avifPresent = ReferenceCodec.avif.tools.allSatisfy { ExternalTool.find($0) != nil }

  /// A deterministic photo-like image: gradients, a disc and fine stripes.
  static func image(width: Int, height: Int) -> Image {
    var image = Image(width: width, height: height, fill: (0, 0, 0))
    for y in 0..<height {
      for x in 0..<width {
        let fx = Double(x) / Double(width), fy = Double(y) / Double(height)
        var r = 60 + 140 * fx, g = 80 + 120 * fy, b = 120 + 60 * sin(6 * fx * fy)
        let dx = fx - 0.35, dy = fy - 0.5
        if dx * dx + dy * dy < 0.04 { (r, g, b) = (220, 70, 40) }
        if fx > 0.7 && (x / 3 + y / 5) % 2 == 0 { (r, g, b) = (r * 0.6, g * 0.6, b * 0.6) }
        image[x, y, 0] = UInt8(max(0, min(255, r)))
        image[x, y, 1] = UInt8(max(0, min(255, g)))
        image[x, y, 2] = UInt8(max(0, min(255, b)))
      }
    }
    return image
  }

  /// At the bench's rates, from one where AVIF does not fit at full size to one where it does,
  /// neither AVIF row ever reports a file over the budget, and a row that fits is a real file.
  @Test(.enabled(if: avifPresent, "needs avifenc/avifdec on PATH (Debian: libavif-bin)"),
        arguments: [0.02, 0.05, 0.2])
  func avifRowsNeverExceedTheBudget(bitsPerPixel: Double) throws {
    let image = Self.image(width: 384, height: 256)
    let budget = RateTarget.bitsPerPixel(bitsPerPixel).budgetBytes(pixels: image.pixelCount)
    let scratch = try ExternalTool.temporaryDirectory("rate-bench-test")
    defer { try? FileManager.default.removeItem(at: scratch) }
    for downscaled in [false, true] {
      let entry = try RateBench.avifPath(image, budget: budget, downscaled: downscaled, in: scratch)
      #expect(entry.bytes <= budget, "downscaled \(downscaled): \(entry.bytes) B over the \(budget) B budget")
      #expect(entry.fits == (entry.bytes > 0), "downscaled \(downscaled): \(entry.thumbnail)")
      #expect(entry.referencePSNR.isFinite && entry.referencePSNR > 5)
    }
  }

  /// The downscaled row at a generous budget fits and names its factor.
  @Test(.enabled(if: avifPresent, "needs avifenc/avifdec on PATH (Debian: libavif-bin)"))
  func downscaledRowNamesItsFactor() throws {
    let image = Self.image(width: 384, height: 256)
    let budget = RateTarget.bitsPerPixel(0.2).budgetBytes(pixels: image.pixelCount)
    let scratch = try ExternalTool.temporaryDirectory("rate-bench-test")
    defer { try? FileManager.default.removeItem(at: scratch) }
    let entry = try RateBench.avifPath(image, budget: budget, downscaled: true, in: scratch)
    #expect(entry.fits)
    #expect(["1/2 ", "1/4 ", "1/8 "].contains { entry.thumbnail.hasPrefix($0) }, "\(entry.thumbnail)")
  }
}
