import Foundation
import MISCCoding
import MISCImage
import MISCNeural
import Testing
@testable import MISC

/// CLIP Surgery against the PyTorch/scikit-image reference of scripts/fixtures/make_clip_fixtures.py,
/// on the tiny random CLIP that MISCNeuralTests ships.
@Suite struct CLIPSurgeryTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("MISCNeuralTests/Fixtures")
  static let locator = Result { try CLIPSurgeryLocator(directory: fixtures.appendingPathComponent("tiny-clip")) }
  static let tolerance: Float = 1e-4

  static func floats(_ name: String) throws -> [Float] {
    let data = try Data(contentsOf: fixtures.appendingPathComponent("expected").appendingPathComponent(name))
    return data.withUnsafeBytes { raw in
      (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
    }
  }

  static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
  }

  static let items = ["parrot", "green leaves", "red bicycle"]

  func image() throws -> Image { try ImageIO.read(path: Self.fixtures.appendingPathComponent("parrots-64x48.png").path).image }

  @Test func promptEnsembleHas85Templates() {
    #expect(CLIPSurgeryPrompts.templates.count == 85)
    #expect(Set(CLIPSurgeryPrompts.templates).count == 85)
    #expect(CLIPSurgeryPrompts.templates.allSatisfy { $0.components(separatedBy: "{}").count == 2 })
    #expect(CLIPSurgeryPrompts.prompts(for: "parrot")[0] == "a bad photo of a parrot.")
  }

  @Test func textEnsemblesMatch() throws {
    let locator = try Self.locator.get()
    let features = try locator.textFeatures(Self.items + [""])
    #expect(Self.maxDifference(Array(features.scalars[0..<72]), try Self.floats("surgery_text.bin")) < Self.tolerance)
    #expect(Self.maxDifference(Array(features.scalars[72...]), try Self.floats("surgery_redundant.bin")) < Self.tolerance)
  }

  /// A name already encoded costs no text-tower run: a second image with the same items (a batch
  /// through one encoder) only pays for the image tower.
  @Test func seenNamesComeFromTheCache() throws {
    let locator = try CLIPSurgeryLocator(directory: Self.fixtures.appendingPathComponent("tiny-clip"))
    let first = try locator.textFeatures(Self.items + [""])
    #expect(locator.cache.storeCount == 4)
    _ = try locator.similarityMaps(Self.items, in: image())
    let again = try locator.textFeatures(Array(Self.items.reversed()))
    #expect(locator.cache.storeCount == 4)
    let dimension = first.columns
    #expect(Array(again.scalars[0..<dimension]) == Array(first.scalars[2 * dimension..<3 * dimension]))
    _ = try locator.textFeatures(["a new name"])
    #expect(locator.cache.storeCount == 5)
  }

  /// The reference stores [patches, items]; ours is one row-major map per item.
  func checkSimilarity(_ maps: [SimilarityMap], _ file: String) throws {
    let expected = try Self.floats(file)
    #expect(maps.count == 3 && maps.allSatisfy { $0.width == 14 && $0.height == 14 })
    for (j, map) in maps.enumerated() {
      let column = (0..<196).map { expected[$0 * 3 + j] }
      #expect(Self.maxDifference(map.values, column) < Self.tolerance, "item \(map.name)")
    }
  }

  @Test func similarityMapsMatch() throws {
    let locator = try Self.locator.get()
    try checkSimilarity(try locator.similarityMaps(Self.items, in: image()), "surgery_similarity.bin")
    var quirk = locator
    quirk.configuration.normalizesTokenAxis = true
    try checkSimilarity(try quirk.similarityMaps(Self.items, in: image()), "surgery_similarity_quirk.bin")
  }

  @Test func bilinearUpsampleMatchesTorch() throws {
    let locator = try Self.locator.get()
    let maps = try locator.similarityMaps(Self.items, in: image())
    let expected = try Self.floats("surgery_upsampled.bin")
    for (j, map) in maps.enumerated() {
      let up = MapResampling.bilinear(map.values, width: 14, height: 14, toWidth: 64, toHeight: 48)
      #expect(Self.maxDifference(up, Array(expected[(j * 3072)..<((j + 1) * 3072)])) < Self.tolerance)
    }
  }

  @Test(arguments: [(GridSize(width: 8, height: 8), ""), (GridSize(width: 16, height: 12), ""),
                    (GridSize(width: 8, height: 8), "_quirk"), (GridSize(width: 16, height: 12), "_quirk")])
  func gridsAndMapsMatch(_ grid: GridSize, _ suffix: String) throws {
    var locator = try Self.locator.get()
    locator.configuration.normalizesTokenAxis = !suffix.isEmpty
    let located = try locator.located(Self.items, in: image(), grid: grid)
    let expected = try Self.floats("surgery_grid_\(grid.width)x\(grid.height)\(suffix).bin")
    let cells = grid.width * grid.height
    for (j, item) in located.enumerated() {
      let reference = Array(expected[(j * cells)..<((j + 1) * cells)])
      #expect(Self.maxDifference(item.pooled, reference) < Self.tolerance, "item \(item.similarity.name)")
      #expect(item.map.width == grid.width && item.map.height == grid.height)
      for (cell, value) in reference.enumerated() where abs(value - 0.35) > 1e-4 {
        #expect(item.map.cells[cell] == (value > 0.35), "item \(j) cell \(cell)")
      }
    }
  }

  @Test func locatorSeamAndEdgeCases() async throws {
    let locator = try Self.locator.get()
    let maps = try await locator.locate(["parrot"], in: image(), grid: .paper)
    #expect(maps.count == 1 && maps[0].width == 8 && maps[0].height == 8)
    #expect(!maps[0].isEmpty)  // min–max normalisation puts 1.0 somewhere
    #expect(try await locator.locate([], in: image(), grid: .paper).isEmpty)
    // A uniform image: every patch is alike, the similarity is flat; no NaN reaches the map.
    let flat = try locator.similarityMaps(["parrot"], in: Image(width: 32, height: 32, fill: (r: 128, g: 128, b: 128)))
    #expect(flat[0].values.allSatisfy { $0.isFinite })
  }

  @Test func mirrorBoundaryIsScipys() {
    // d c b | a b c d | c b a
    #expect((-3...6).map { MapResampling.mirror($0, 4) } == [3, 2, 1, 0, 1, 2, 3, 2, 1, 0])
    #expect(MapResampling.mirror(-5, 1) == 0)
  }

  @Test func missingModelFolderIsAClearError() {
    #expect {
      try CLIPSurgeryLocator(directory: URL(fileURLWithPath: "/nonexistent/clip-vit-base-patch16"))
    } throws: { error in
      "\(error)".contains("/nonexistent/clip-vit-base-patch16/config.json")
    }
  }
}
