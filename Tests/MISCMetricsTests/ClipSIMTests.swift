import Foundation
import MISCImage
import MISCNeural
import Testing
@testable import MISCMetrics

/// Parity with transformers' CLIPModel on the tiny random CLIP (scripts/fixtures/make_clipsim_fixtures.py).
@Suite struct ClipSIMTests {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("clipsim")
  /// The tiny random CLIP of the MISCNeural tests (scripts/fixtures/make_clip_fixtures.py), read in place.
  static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../MISCNeuralTests/Fixtures/tiny-clip").standardizedFileURL

  func image(_ name: String) throws -> Image {
    try ImageIO.read(path: Self.fixtures.appendingPathComponent(name).path).image
  }

  func expected() throws -> [[String: Any]] {
    let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("expected.json"))
    return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["pairs"] as! [[String: Any]]
  }

  @Test func matchesTransformers() throws {
    var metrics: [String: ClipSIM] = [:]
    for mode in CLIPPreprocessor.Resize.allCases {
      metrics[mode.rawValue] = try ClipSIM(directory: Self.model, resize: mode)
    }
    let pairs = try expected()
    #expect(pairs.count == 10)
    for pair in pairs {
      let metric = try #require(metrics[pair["resize"] as! String])
      let (reference, distorted) = (try image(pair["reference"] as! String), try image(pair["distorted"] as! String))
      let embedding = metric.embedding(reference)
      let expectedEmbedding = Tensor(shape: [24], scalars: (pair["reference_embed"] as! [Double]).map(Float.init))
      #expect(embedding.maxAbsoluteDifference(expectedEmbedding) < 1e-4)
      let score = try metric.evaluate(reference: reference, distorted: distorted)
      let want = pair["clipsim"] as! Double
      #expect(abs(score - want) <= 1e-4 * abs(want), "\(pair["resize"]!) \(pair["distorted"]!): \(score) vs \(want)")
      // The scores sit near 1, so the distance from 1 is checked too (absolute, Float32 rounding).
      #expect(abs((1 - score) - (1 - want)) < 2e-6, "\(pair["distorted"]!): 1 - \(score) vs 1 - \(want)")
    }
  }

  @Test func modelIDIsTheFolderNameWithoutNameOrPath() throws {
    #expect(try ClipSIM(directory: Self.model).modelID == "tiny-clip")
  }

  @Test func modelIDComesFromNameOrPath() throws {
    let config = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("clipsim-\(UUID().uuidString).json")
    defer { try? FileManager.default.removeItem(at: config) }
    try Data(#"{"_name_or_path": "openai/clip-vit-base-patch16"}"#.utf8).write(to: config)
    #expect(ClipSIM.modelID(configURL: config, directory: Self.model) == "openai/clip-vit-base-patch16")
  }

  @Test func identicalImagesScoreOne() throws {
    let metric = try ClipSIM(directory: Self.model)
    let image = try image("kodim19-56x88.png")
    #expect(abs(try metric.score(reference: image, distorted: image) - 1) < 1e-6)
  }

  @Test func clipModelFolderWinsAndMissingFoldersNameWhereItLooked() throws {
    let loaded = try ClipSIM(models: MetricModels(directory: "/nonexistent", clipModel: Self.model.path))
    #expect(loaded.modelID == "tiny-clip")
    #expect {
      try ClipSIM(models: MetricModels(directory: "/nonexistent/models", clipModel: nil))
    } throws: { error in
      guard case let MetricError.weightsMissing(metric, folder, _, command) = error else { return false }
      return metric == .clipsim && folder == "/nonexistent/models/clip-vit-base-patch16" && command.contains("openai/clip-vit-base-patch16")
    }
    // An explicit CLIP folder that is not one is an error, never a fallback to the models directory.
    #expect(throws: MetricError.self) {
      try ClipSIM(models: MetricModels(directory: Self.model.deletingLastPathComponent().path, clipModel: "/nonexistent/clip"))
    }
    #expect(throws: MetricError.self) { try ClipSIM(models: MetricModels()) }
  }

  @Test func registryBuildsIt() throws {
    let metric = try MetricRegistry.make(.clipsim, models: MetricModels(clipModel: Self.model.path))
    #expect(metric.id == .clipsim && metric.modelID == "tiny-clip")
    #expect(metric is any FullReferenceMetric)
  }
}
