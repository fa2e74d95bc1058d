import Foundation
import MISCCoding
import MISCImage
import MISCMetrics
import Testing
@testable import MISC

/// Real photographs: Kodak from $MISC_DATA/kodak (default ../shared/data) when present, else the shipped example.
enum Photos {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  static var paths: [String] {
    let data = ProcessInfo.processInfo.environment["MISC_DATA"].map { URL(fileURLWithPath: $0) }
      ?? root.appendingPathComponent("../shared/data")
    let kodak = data.appendingPathComponent("kodak").standardized.path
    if let names = try? FileManager.default.contentsOfDirectory(atPath: kodak) {
      let pngs = names.filter { $0.hasSuffix(".png") }.sorted()
      if !pngs.isEmpty { return pngs.map { kodak + "/" + $0 } }
    }
    return [root.appendingPathComponent("examples/astronaut.png").path]
  }

  static func load(_ path: String) throws -> Image { try ImageIO.read(path: path).image }

  static var example: String { root.appendingPathComponent("examples/astronaut.png").path }
  static var exampleSemantics: String { root.appendingPathComponent("examples/astronaut.json").path }
}

@Suite struct CodecRoundTripTests {
  @Test(arguments: [0.005, 0.01, 0.02, 0.03, 0.05, 0.1])
  func filesNeverExceedTheTarget(bpp: Double) async throws {
    let encoder = MISCEncoder(configuration: .init(target: .bitsPerPixel(bpp)))
    for path in Photos.paths {
      let image = try Photos.load(path)
      let result = try await encoder.encode(image)
      let budget = Int((bpp * Double(image.pixelCount) / 8).rounded(.down))
      #expect(result.bytes.count <= budget, "\(path) at \(bpp) bpp: \(result.bytes.count) > \(budget) bytes")
      #expect(result.bytes.count >= budget * 3 / 4, "\(path) at \(bpp) bpp leaves most of the budget unused: \(result.bytes.count) of \(budget)")
      let decoded = try await MISCDecoder().decode(result.bytes)
      #expect(decoded.image.width == image.width && decoded.image.height == image.height)
      #expect(abs(PSNR.psnr(decoded.image, image) - result.referencePSNR) < 1e-9, "rate control measured the decoder's I_ref")
    }
  }

  /// Version 4 has no cap on the thumbnail but the image's own size: when the budget gives a
  /// 1600x1200 image's own pixels enough bits, the thumbnail is the image's size, above version
  /// 3's 256 and the 1024 version 4 first had, and the budget is filled.
  @Test func largeBudgetsGetThumbnailsAbove1024() async throws {
    let path = Photos.paths[0]
    let image = Resample.bicubic(try Photos.load(path), width: 1600, height: 1200)
    let result = try await MISCEncoder(configuration: .init(target: .bitsPerPixel(0.2))).encode(image)
    #expect(result.thumbnailSize.map { $0.width == 1600 && $0.height == 1200 } == true, "\(String(describing: result.thumbnailSize))")
    #expect(result.bytes.count <= result.budgetBytes && result.bytes.count >= result.budgetBytes * 97 / 100,
            "\(result.bytes.count) of \(result.budgetBytes) bytes")
    let decoded = try await MISCDecoder().decode(result.bytes)
    #expect(abs(PSNR.psnr(decoded.image, image) - result.referencePSNR) < 1e-9)
  }

  /// Rate control fills the budget: on Kodak, at least 97% of it on average at every rate it
  /// is measured at (docs/THUMBNAIL.md), and never more than all of it.
  @Test(arguments: [0.02, 0.05, 0.1, 0.2])
  func filesUseTheBudget(bpp: Double) async throws {
    let encoder = MISCEncoder(configuration: .init(target: .bitsPerPixel(bpp)))
    var use = 0.0
    for path in Photos.paths {
      let result = try await encoder.encode(try Photos.load(path))
      #expect(result.bytes.count <= result.budgetBytes)
      use += Double(result.bytes.count) / Double(result.budgetBytes)
    }
    #expect(use / Double(Photos.paths.count) >= 0.97, "\(bpp) bpp: \(use / Double(Photos.paths.count)) of the budget")
  }

  @Test func moreBitsGiveABetterReference() async throws {
    let image = try Photos.load(Photos.paths[0])
    var last = 0.0
    for bpp in [0.005, 0.01, 0.02, 0.05, 0.1] {
      let result = try await MISCEncoder(configuration: .init(target: .bitsPerPixel(bpp))).encode(image)
      #expect(result.referencePSNR >= last - 0.05, "\(bpp) bpp gave \(result.referencePSNR) dB after \(last) dB")
      last = result.referencePSNR
    }
  }

  @Test func encodingAndDecodingAreDeterministic() async throws {
    let image = try Photos.load(Photos.example)
    let semantics = try Semantics.load(path: Photos.exampleSemantics)
    let encoder = MISCEncoder()
    let a = try await encoder.encode(image, semantics: semantics)
    let b = try await encoder.encode(image, semantics: semantics)
    #expect(a.bytes == b.bytes)
    let x = try await MISCDecoder().decode(a.bytes)
    let y = try await MISCDecoder().decode(a.bytes)
    #expect(x.image == y.image && x.seed == y.seed)
  }

  @Test func semanticsSurviveTheRoundTrip() async throws {
    let image = try Photos.load(Photos.example)
    let semantics = try Semantics.load(path: Photos.exampleSemantics)
    let result = try await MISCEncoder().encode(image, semantics: semantics)
    let decoded = try await MISCDecoder().decode(result.bytes)
    #expect(decoded.file.contents.overview == semantics.overview)
    #expect(decoded.file.contents.items.map(\.detail) == semantics.items.map(\.detail))
    #expect(decoded.file.contents.items.map(\.map) == semantics.items.map(\.map))
    #expect(decoded.file.contents.level == 1)
  }

  @Test func levelThreeDropsItemsAndMaps() async throws {
    let image = try Photos.load(Photos.example)
    let semantics = try Semantics.load(path: Photos.exampleSemantics)
    let result = try await MISCEncoder(configuration: .init(target: .level(.misc3))).encode(image, semantics: semantics)
    let decoded = try Container.decode(result.bytes)
    #expect(decoded.contents.items.isEmpty && decoded.contents.overview == semantics.overview && decoded.contents.level == 3)
  }

  @Test func tinyBudgetsDropLayersInsteadOfOverflowing() async throws {
    let image = try Photos.load(Photos.example)
    let semantics = try Semantics.load(path: Photos.exampleSemantics)
    let result = try await MISCEncoder(configuration: .init(target: .bitsPerPixel(0.002))).encode(image, semantics: semantics)
    #expect(result.bytes.count <= result.budgetBytes)
    #expect(!result.notices.isEmpty)
    await #expect(throws: EncodeError.self) {
      _ = try await MISCEncoder(configuration: .init(target: .bitsPerPixel(0.0001))).encode(Image(width: 64, height: 64, fill: (1, 2, 3)))
    }
  }
}
