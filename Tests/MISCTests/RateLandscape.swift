import Foundation
import Testing
@testable import MISC
import MISCCoding
import MISCImage
import MISCMetrics

/// The measurements behind the rate control's design (docs/THUMBNAIL.md, "Rate control"), each
/// run on request and written as CSV for study offline (a release build times them fairly:
/// `swift build -c release --build-tests -Xswiftc -enable-testing`, then run the test binary):
///
///     MISC_RATE_LANDSCAPE=/tmp/landscape.csv MISC_DATA=/work/shared/data swift test --filter RateLandscape/kodak
///     MISC_RATE_LAMBDA=/tmp/lambda.csv MISC_DATA=… swift test --filter RateLandscape/lambda
///     MISC_RATE_PROXY=/tmp/proxy.csv MISC_DATA=… swift test --filter RateLandscape/proxy
///     MISC_RATE_COSTS=1 MISC_DATA=… swift test --filter RateLandscape/costs
///
/// `kodak`: for each Kodak image, each long side (every 16 from 64) and each quality whose file
/// lies between `minBytes` and `maxBytes`, the whole file's bytes (thumbnail only, version 4)
/// and I_ref PSNR: the PSNR-over-size plateau. `lambda`: bytes and PSNR with the encoder's λ
/// scaled, around the qualities that fit a few budgets. `proxy`: coded bytes against
/// `ThumbnailCodec.RateProxy`. `costs`: the time of each step of a trial.
@Suite struct RateLandscape {
  static var output: String? { ProcessInfo.processInfo.environment["MISC_RATE_LANDSCAPE"] }
  static let minBytes = 300
  static let maxBytes = 11_000

  @Test func kodak() throws {
    guard let output = Self.output else { return }
    let sides = Set([4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 36, 40, 44, 48, 52, 56] + Array(stride(from: 64, through: 768, by: 16))).sorted()
    var lines = ["image,side,width,height,quality,bytes,psnr"]
    let paths = Photos.paths
    let only = ProcessInfo.processInfo.environment["MISC_RATE_LANDSCAPE_IMAGES"].map { Int($0)! } ?? paths.count
    for path in paths.prefix(only) {
      let image = try Photos.load(path)
      let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
      let prefix = try Container.Prefix(Container.Contents(width: image.width, height: image.height, level: 0))
      for side in sides where side <= max(image.width, image.height) {
        let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: side)
        let small = Resample.area(image, width: size.width, height: size.height)
        let analysis = ThumbnailCodec.analyse(rgb: small.pixels, width: size.width, height: size.height)
        for quality in 0..<ThumbnailCodec.qualityLevels {
          let (encoded, levels) = prefix.finishWithLevels(analysed: analysis, quality: quality)
          let bytes = encoded.bytes.count
          if bytes > Self.maxBytes { break }
          if bytes < Self.minBytes { continue }
          let decoded = Image(width: size.width, height: size.height, pixels: levels!.reconstruction())
          let psnr = PSNR.psnr(MISCDecoder.reference(thumbnail: decoded, width: image.width, height: image.height), image)
          lines.append("\(name),\(side),\(size.width),\(size.height),\(quality),\(bytes),\(String(format: "%.4f", psnr))")
        }
      }
      try (lines.joined(separator: "\n") + "\n").write(toFile: output, atomically: true, encoding: .utf8)
      print("landscape: \(name) done")
    }
  }

  /// Bytes and I_ref PSNR at a few sizes and qualities with the encoder's λ scaled.
  @Test func lambda() throws {
    guard let output = ProcessInfo.processInfo.environment["MISC_RATE_LAMBDA"] else { return }
    var lines = ["image,side,quality,factor,bytes,psnr"]
    let only = ProcessInfo.processInfo.environment["MISC_RATE_LANDSCAPE_IMAGES"].map { Int($0)! } ?? 6
    for path in Photos.paths.prefix(only) {
      let image = try Photos.load(path)
      let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
      let prefix = try Container.Prefix(Container.Contents(width: image.width, height: image.height, level: 0))
      for (side, budget) in [(768, 9830), (768, 4915), (512, 4915), (288, 983)] {
        let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: side)
        let small = Resample.area(image, width: size.width, height: size.height)
        let analysis = ThumbnailCodec.analyse(rgb: small.pixels, width: size.width, height: size.height)
        var q = 0
        while q < 63 && prefix.finish(analysed: analysis, quality: q + 1).bytes.count <= budget { q += 1 }
        for quality in [q, q + 1] where quality < 64 {
          for factor in [0.4, 0.55, 0.7, 0.85, 1, 1.2, 1.45, 1.7, 2, 2.5, 3.2] {
            let (encoded, levels) = prefix.finishWithLevels(analysed: analysis, quality: quality, lambdaFactor: factor)
            let decoded = Image(width: size.width, height: size.height, pixels: levels!.reconstruction())
            let psnr = PSNR.psnr(MISCDecoder.reference(thumbnail: decoded, width: image.width, height: image.height), image)
            lines.append("\(name),\(side),\(quality),\(factor),\(encoded.bytes.count),\(String(format: "%.4f", psnr))")
          }
        }
      }
      try (lines.joined(separator: "\n") + "\n").write(toFile: output, atomically: true, encoding: .utf8)
    }
  }

  /// The time of each step of a trial, per thumbnail size (best of 5).
  @Test func costs() throws {
    guard ProcessInfo.processInfo.environment["MISC_RATE_COSTS"] != nil else { return }
    let image = try Photos.load(Photos.paths[0])
    let prefix = try Container.Prefix(Container.Contents(width: image.width, height: image.height, level: 0))
    func time(_ body: () -> Void) -> Double {
      var best = Double.infinity
      for _ in 0..<5 {
        let start = Date()
        body()
        best = min(best, Date().timeIntervalSince(start) * 1000)
      }
      return best
    }
    for side in [256, 384, 512, 640, 768] {
      let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: side)
      var small = image
      let area = time { small = Resample.area(image, width: size.width, height: size.height) }
      var analysis = ThumbnailCodec.analyse(rgb: small.pixels, width: size.width, height: size.height)
      let analyse = time { analysis = ThumbnailCodec.analyse(rgb: small.pixels, width: size.width, height: size.height) }
      var levels: ThumbnailCodec.Levels? = nil
      var codings: [String] = []
      for quality in [0, 10, 20, 30] {
        let t = time { levels = prefix.finishWithLevels(analysed: analysis, quality: quality).levels }
        codings.append(String(format: "q%d %.1f ms (%d B)", quality, t, prefix.finish(analysed: analysis, quality: quality).bytes.count))
      }
      var rgb: [UInt8] = []
      let reconstruct = time { rgb = levels!.reconstruction() }
      let decoded = Image(width: size.width, height: size.height, pixels: rgb)
      var reference = image
      let upsample = time { reference = MISCDecoder.reference(thumbnail: decoded, width: image.width, height: image.height) }
      var psnr = 0.0
      let score = time { psnr = PSNR.psnr(reference, image) }
      print(String(format: "costs %dx%d: area %.1f ms, analyse %.1f ms, ", size.width, size.height, area, analyse)
            + codings.joined(separator: ", ")
            + String(format: ", reconstruct %.1f ms, upsample %.1f ms, psnr %.1f ms (%.2f dB)", reconstruct, upsample, score, psnr))
    }
  }

  /// Coded bytes against the rate proxy (`ThumbnailCodec.RateProxy`).
  @Test func proxy() throws {
    guard let output = ProcessInfo.processInfo.environment["MISC_RATE_PROXY"] else { return }
    var lines = ["image,side,quality,bytes,proxy"]
    for path in Photos.paths {
      let image = try Photos.load(path)
      let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
      let prefix = try Container.Prefix(Container.Contents(width: image.width, height: image.height, level: 0))
      for side in [128, 192, 256, 384, 512, 640, 768] {
        let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: side)
        let small = Resample.area(image, width: size.width, height: size.height)
        let analysis = ThumbnailCodec.analyse(rgb: small.pixels, width: size.width, height: size.height)
        let proxy = ThumbnailCodec.RateProxy(analysis)
        for quality in 0..<ThumbnailCodec.qualityLevels {
          let bytes = prefix.finish(analysed: analysis, quality: quality).bytes.count
          lines.append("\(name),\(side),\(quality),\(bytes),\(proxy.values[quality])")
          if bytes > 12_000 { break }
        }
      }
      try (lines.joined(separator: "\n") + "\n").write(toFile: output, atomically: true, encoding: .utf8)
    }
  }
}
