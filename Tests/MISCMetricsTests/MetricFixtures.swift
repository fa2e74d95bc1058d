import Foundation
import MISCImage
import Testing
@testable import MISCMetrics

/// The parity fixtures of scripts/fixtures/make_metric_fixtures.py: Kodak crops, distortion recipes
/// and the numbers pytorch_msssim and pyiqa gave for them.
struct MetricFixtures: Decodable {
  struct Level: Decodable {
    var ssim: [Double]
    var cs: [Double]
  }

  struct Case: Decodable, CustomTestStringConvertible {
    var name: String
    var image: String
    var crop: [Int]
    var distortion: String
    /// pytorch_msssim in float32 (what CompressAI runs) and in float64.
    var ssim: Double
    var ssim64: Double
    var ssimPerChannel: [Double]
    var msssim: Double?
    var msssim64: Double?
    var msssimLevels: [Level]?
    var niqeReference: Double?
    var niqeDistorted: Double?
    var ySum: Double?
    var niqeFirstBlockFeatures: [Double]?
    var niqeMeanFeatures: [Double]?

    var testDescription: String { name }

    /// The reference crop and its distorted copy, rebuilt from the shared Kodak images.
    func pair() throws -> (reference: Image, distorted: Image) {
      let full = try ImageIO.read(path: MetricFixtures.data.appendingPathComponent(image).path).image
      let (x0, y0, w, h) = (crop[0], crop[1], crop[2], crop[3])
      var pixels = [UInt8](repeating: 0, count: w * h * 3)
      for y in 0..<h {
        for x in 0..<w {
          for c in 0..<3 { pixels[(y * w + x) * 3 + c] = full[x0 + x, y0 + y, c] }
        }
      }
      let reference = Image(width: w, height: h, pixels: pixels)
      return (reference, try MetricFixtures.distort(reference, distortion))
    }
  }

  var cases: [Case]

  /// The package root, found from this file's path.
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  /// `MISC_DATA` names the shared data folder; by default it sits beside the checkout.
  static let data = (ProcessInfo.processInfo.environment["MISC_DATA"].map { URL(fileURLWithPath: $0) }
    ?? root.appendingPathComponent("../shared/data")).standardizedFileURL

  static let all: [Case] = {
    let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("metrics.json")
    return try! JSONDecoder().decode(MetricFixtures.self, from: Data(contentsOf: url)).cases
  }()

  /// The recipes of the fixture script: `quantize:Q` keeps the middle of each step of Q, `noise`
  /// adds a fixed pattern in [-5, 5].
  static func distort(_ image: Image, _ recipe: String) throws -> Image {
    var out = image
    if recipe.hasPrefix("quantize:"), let q = Int(recipe.dropFirst("quantize:".count)) {
      for i in out.pixels.indices { out.pixels[i] = UInt8(min(255, Int(image.pixels[i]) / q * q + q / 2)) }
      return out
    }
    guard recipe == "noise" else { throw MetricError.notAvailable(.ssim, "unknown distortion recipe \(recipe)") }
    for y in 0..<image.height {
      for x in 0..<image.width {
        for c in 0..<3 {
          let v = Int(image[x, y, c]) + (x * 7 + y * 13 + c * 29) % 11 - 5
          out[x, y, c] = UInt8(max(0, min(255, v)))
        }
      }
    }
    return out
  }

  /// |a - b| / |b|.
  static func relativeError(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-12) }
}
