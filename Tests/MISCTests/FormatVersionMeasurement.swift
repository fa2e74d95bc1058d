import Foundation
import Testing
@testable import MISC
@testable import MISCCoding
import MISCImage

/// Version 3 against version 4, measured on request (figures for docs/FORMAT.md and the issue):
///
///     MISC_MEASURE_FORMAT=1 MISC_DATA=/work/shared/data swift test --filter FormatVersionMeasurement
///
/// For each bpp target and each version it encodes every Kodak image (no semantic layers, as
/// `misc bench rate` does) and prints the mean file size against the budget, the mean I_ref PSNR
/// and the rate control's time per image; then the same for large photos made by upsampling
/// `aigi` images bicubically to 4000 x 3000 (12 MP) and by stitching Kodak images (11.8 MP);
/// then the text costs of a few non-English strings against their raw UTF-8.
@Suite struct FormatVersionMeasurement {
  static var enabled: Bool { ProcessInfo.processInfo.environment["MISC_MEASURE_FORMAT"] != nil }
  static var data: URL {
    ProcessInfo.processInfo.environment["MISC_DATA"].map { URL(fileURLWithPath: $0) }
      ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data").standardized
  }

  static func images(_ folder: String) throws -> [String] {
    let path = data.appendingPathComponent(folder).path
    return try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".png") }.sorted().map { path + "/" + $0 }
  }

  static func measure(_ images: [Image], bpp: Double, version: Int) async throws -> String {
    var bytes = 0.0, budget = 0.0, psnr = 0.0, seconds = 0.0, sides: [Int] = []
    for image in images {
      var configuration = EncoderConfiguration(target: .bitsPerPixel(bpp))
      configuration.formatVersion = version
      let start = Date()
      let result = try await MISCEncoder(configuration: configuration).encode(image)
      seconds += Date().timeIntervalSince(start)
      bytes += Double(result.bytes.count)
      budget += Double(result.budgetBytes)
      psnr += result.referencePSNR
      sides.append(result.thumbnailSize.map { max($0.width, $0.height) } ?? 0)
    }
    let n = Double(images.count)
    return String(format: "%.3f bpp v%d: %7.0f B of %7.0f B (%5.1f%%), I_ref %6.3f dB, %.3f s/image, long sides %d...%d",
                  bpp, version, bytes / n, budget / n, 100 * bytes / budget, psnr / n, seconds / n, sides.min() ?? 0, sides.max() ?? 0)
  }

  @Test func kodak() async throws {
    guard Self.enabled else { return }
    let images = try Self.images("kodak").map { try ImageIO.read(path: $0).image }
    for bpp in [0.02, 0.05, 0.1, 0.2] {
      for version in [3, 4] { print("kodak " + (try await Self.measure(images, bpp: bpp, version: version))) }
    }
  }

  /// The large photos: the first three `aigi` images in name order (1024 x 1024), upsampled
  /// bicubically to 4000 x 3000.
  static func largePhotos() throws -> [(name: String, image: Image)] {
    try images("aigi").prefix(3).map { path in
      (((path as NSString).lastPathComponent as NSString).deletingPathExtension,
       Resample.bicubic(try ImageIO.read(path: path).image, width: 4000, height: 3000))
    }
  }

  /// Large photos with detail at full resolution: Kodak images stitched edge to edge, 5 across and
  /// 6 down (3840 x 3072, 11.8 MP), portrait images transposed to landscape. Photo k starts at
  /// the (8k)-th Kodak image in name order and wraps around, so the three mosaics differ.
  static func stitchedPhotos() throws -> [(name: String, image: Image)] {
    let kodak = try images("kodak").map { try ImageIO.read(path: $0).image }
    let (columns, rows, tileWidth, tileHeight) = (5, 6, 768, 512)
    return (0..<3).map { k in
      let width = columns * tileWidth, height = rows * tileHeight
      var pixels = [UInt8](repeating: 0, count: width * height * 3)
      for tile in 0..<(columns * rows) {
        let image = kodak[(8 * k + tile) % kodak.count]
        let transposed = image.width < image.height
        precondition((transposed ? (image.height, image.width) : (image.width, image.height)) == (tileWidth, tileHeight),
                     "Kodak images are 768x512 or 512x768")
        let x0 = (tile % columns) * tileWidth, y0 = (tile / columns) * tileHeight
        for y in 0..<tileHeight {
          for x in 0..<tileWidth {
            let source = transposed ? (x * image.width + y) * 3 : (y * image.width + x) * 3
            let target = ((y0 + y) * width + x0 + x) * 3
            for c in 0..<3 { pixels[target + c] = image.pixels[source + c] }
          }
        }
      }
      return ("kodak-mosaic-\(k + 1)", Image(width: width, height: height, pixels: pixels))
    }
  }

  /// Writes the large photos as PNG into `$MISC_WRITE_LARGE_PHOTOS`, for `misc bench rate --dataset`:
  /// the upsampled `aigi` images into its `aigi` folder, the Kodak mosaics into `mosaic`.
  ///
  ///     MISC_WRITE_LARGE_PHOTOS=/tmp/large12mp MISC_DATA=/work/shared/data swift test --filter FormatVersionMeasurement/writeLargePhotos
  @Test func writeLargePhotos() throws {
    guard let folder = ProcessInfo.processInfo.environment["MISC_WRITE_LARGE_PHOTOS"] else { return }
    for (subfolder, photos) in [("aigi", try Self.largePhotos()), ("mosaic", try Self.stitchedPhotos())] {
      let path = folder + "/" + subfolder
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
      for (name, image) in photos {
        try ImageIO.writePNG(image, to: path + "/\(name)-\(image.width)x\(image.height).png")
      }
    }
  }

  @Test func largePhotos() async throws {
    guard Self.enabled else { return }
    for (set, photos) in [("aigi 12MP", try Self.largePhotos()), ("mosaic 11.8MP", try Self.stitchedPhotos())] {
      let images = photos.map(\.image)
      for bpp in [0.02, 0.1] {
        for version in [3, 4] { print(set + " " + (try await Self.measure(images, bpp: bpp, version: version))) }
      }
    }
  }

  /// What a cap on the thumbnail's side costs on the large photos: the rate control with version
  /// 4's profile (thumbnails up to the image's own size) against the same profile capped at 1024
  /// (version 4 as first drafted) and at 2048 (hypothetical profiles, never written to a file).
  ///
  ///     MISC_MEASURE_FORMAT=1 MISC_DATA=/work/shared/data swift test --filter FormatVersionMeasurement/thumbnailCap
  @Test func thumbnailCap() async throws {
    guard Self.enabled else { return }
    let v4 = FormatProfile.version4
    func capped(_ maxSide: Int, bits: Int) throws -> FormatProfile {
      let t = v4.thumbnail
      return try FormatProfile(
        version: 4,
        thumbnail: .init(maxSide: maxSide, longSideBits: bits, atMostImageSide: true, longSideBitsFollowImage: false,
                         lumaSteps: t.lumaSteps, coStepScale: t.coStepScale, cgStepScale: t.cgStepScale,
                         reconstructionBias: t.reconstructionBias, deadZoneRounding: t.deadZoneRounding,
                         lowStepScale: t.lowStepScale, lowStepLimit: t.lowStepLimit, levelOffset: t.levelOffset,
                         models: t.models, zeroMixerWeights: t.zeroMixerWeights,
                         greaterOneMixerWeights: t.greaterOneMixerWeights, priors: t.priors, priorBuckets: t.priorBuckets,
                         priorConfidence: t.priorConfidence),
        flags: v4.flags, maps: v4.maps, text: v4.text, passSeeds: v4.passSeeds)
    }
    let profiles = [("cap 1024", try capped(1024, bits: 10)), ("cap 2048", try capped(2048, bits: 11)), ("version 4", v4)]
    for (set, photos) in [("mosaic", try Self.stitchedPhotos()), ("aigi", try Self.largePhotos())] {
      for bpp in [0.02, 0.05, 0.1, 0.2] {
        for (name, profile) in profiles {
          var bytes = 0.0, budget = 0.0, psnr = 0.0, seconds = 0.0, sides: [Int] = []
          for (_, image) in photos {
            let target = RateTarget.bitsPerPixel(bpp)
            let prefix = try Container.Prefix(
              Container.Contents(width: image.width, height: image.height, level: target.levelCode),
              profile: profile)
            let budgetBytes = target.budgetBytes(pixels: image.pixelCount)
            let start = Date()
            let choice = try #require(RateControl().choose(image: image, prefix: prefix, budgetBytes: budgetBytes))
            seconds += Date().timeIntervalSince(start)
            bytes += Double(choice.encoded.bytes.count)
            budget += Double(budgetBytes)
            psnr += choice.referencePSNR
            sides.append(choice.thumbnailSize.map { max($0.width, $0.height) } ?? 0)
          }
          let n = Double(photos.count)
          print(String(format: "%@ %.2f bpp %@: %5.1f%% of the budget, I_ref %6.3f dB, %.2f s/image, long sides %@",
                       set as NSString, bpp, name as NSString, 100 * bytes / budget, psnr / n, seconds / n,
                       sides.map(String.init).joined(separator: ",") as NSString))
        }
      }
    }
  }

  @Test func text() throws {
    guard Self.enabled else { return }
    let samples: [(String, String)] = [
      ("english", "A red bicycle leaning against a stone wall beside a wooden door, in the morning light."),
      ("french", "Une bicyclette rouge appuyée contre un mur de pierre, à côté d'une porte en bois, dans la lumière du matin."),
      ("german", "Ein rotes Fahrrad lehnt an einer Steinmauer neben einer Holztür im Morgenlicht."),
      ("russian", "Красный велосипед прислонён к каменной стене рядом с деревянной дверью, утренний свет."),
      ("chinese", "一辆红色自行车靠在木门旁的石墙上，沐浴在清晨的阳光中。"),
      ("emoji", "🚲🧱🚪☀️🌳🐦🌸🏠🚗🙂"),
    ]
    for (name, text) in samples {
      var costs: [Double] = []
      for profile in [FormatProfile.version3, .version4] {
        var coder = try TextCoder(profile: profile)
        var encoder = RangeEncoder()
        coder.encode(text, to: &encoder)
        costs.append(encoder.bitCount)
      }
      let raw = Double(text.utf8.count * 8)
      let characters = Double(text.count)
      print(String(format: "text %-8@ %3d chars %4.0f raw bits: v3 %6.1f bits (%.2f b/char, %.0f%% of raw), v4 %6.1f bits (%.2f b/char, %.0f%% of raw)",
                   name as NSString, text.count, raw, costs[0], costs[0] / characters, 100 * costs[0] / raw,
                   costs[1], costs[1] / characters, 100 * costs[1] / raw))
    }
  }
}
