import Foundation
import MISCImage
import MISCNeural
import Testing
@testable import MISCMetrics

/// Parity with pyiqa's `clipiqa` arch on a tiny random CLIP ResNet (scripts/fixtures/make_clip_rn50_fixtures.py).
@Suite struct CLIPIQATests {
  /// The MISCNeural tests' fixtures, read in place.
  static let neuralFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../MISCNeuralTests/Fixtures").standardizedFileURL
  static let fixture = neuralFixtures.appendingPathComponent("clip-rn50-tiny")

  /// A metric models directory holding `clip-rn50/` as the converter writes it: the tiny model's config and
  /// weights, and the real CLIP vocabulary (stored once, in tiny-clip/). Removed by the caller.
  static func modelsDirectory() throws -> URL {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("misc-clipiqa-\(UUID().uuidString)")
    let folder = root.appendingPathComponent(CLIPIQA.folderName)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for (name, source) in [("config.json", fixture), ("model.safetensors", fixture),
                           ("vocab.json", neuralFixtures.appendingPathComponent("tiny-clip")),
                           ("merges.txt", neuralFixtures.appendingPathComponent("tiny-clip"))] {
      try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(name), withDestinationURL: source.appendingPathComponent(name))
    }
    return root
  }

  static func expected() throws -> [[String: Any]] {
    let data = try Data(contentsOf: fixture.appendingPathComponent("clipiqa/expected.json"))
    return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["images"] as! [[String: Any]]
  }

  static func image(_ name: String) throws -> Image {
    try ImageIO.read(path: fixture.appendingPathComponent("clipiqa/\(name)").path).image
  }

  @Test func matchesPyIQA() throws {
    let root = try Self.modelsDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    var metric = try CLIPIQA(models: MetricModels(directory: root.path))
    #expect(metric.modelID == "tiny-random-rn50")
    let records = try Self.expected()
    #expect(records.count == 4)
    var scores: [Double] = []
    for record in records {
      let image = try Self.image(record["image"] as! String)
      for (positions, key) in [(AttentionPool2d.Positions.omitted, "score"), (.interpolated, "score_positions")] {
        metric.positions = positions
        let score = try metric.evaluate(reference: nil, distorted: image)
        let want = record[key] as! Double
        #expect(abs(score - want) <= 1e-4 * want, "\(record["image"]!) \(key): \(score) vs \(want)")
        if positions == .omitted { scores.append(score) }
      }
    }
    // The images score differently by far more than the tolerance, so a wrong tower cannot pass.
    #expect(scores.max()! - scores.min()! > 1e-2)
  }

  @Test func registryBuildsItAsNoReference() throws {
    let root = try Self.modelsDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let metric = try MetricRegistry.make(.clipiqa, models: MetricModels(directory: root.path))
    #expect(metric is any NoReferenceMetric && metric.id == .clipiqa && metric.minimumSide == 31)
    #expect(throws: MetricError.imageTooSmall(metric: .clipiqa, width: 30, height: 40, minimum: 31)) {
      try metric.evaluate(reference: nil, distorted: Image(width: 30, height: 40, fill: (1, 2, 3)))
    }
  }

  @Test func missingWeightsNameTheFolderAndTheConverter() throws {
    let root = try Self.modelsDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    try FileManager.default.removeItem(at: root.appendingPathComponent("clip-rn50/merges.txt"))
    #expect {
      try CLIPIQA(models: MetricModels(directory: root.path))
    } throws: { error in
      guard case let MetricError.weightsMissing(metric, folder, detail, command) = error else { return false }
      return metric == .clipiqa && folder == root.appendingPathComponent("clip-rn50").path && detail.contains("merges.txt")
        && command.contains("scripts/convert_clip_rn50.py")
    }
    #expect(throws: MetricError.self) { try CLIPIQA(models: MetricModels()) }
  }

  /// RN50's real shapes with random weights, converted from a TorchScript archive
  /// (scripts/fixtures/check_clip_rn50_full_size.py writes the folder; 420 MB, so not a fixture).
  @Test(.enabled(if: ProcessInfo.processInfo.environment["MISC_CLIPIQA_FULL_SIZE"] != nil))
  func fullSizeRN50MatchesPyIQA() throws {
    let directory = ProcessInfo.processInfo.environment["MISC_CLIPIQA_FULL_SIZE"]!
    var metric = try CLIPIQA(models: MetricModels(directory: directory))
    #expect(metric.image.configuration == ModifiedResNet.Configuration())  // RN50's defaults
    let data = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent("expected.json"))
    let records = (try JSONSerialization.jsonObject(with: data) as! [String: Any])["images"] as! [[String: Any]]
    for record in records {
      let image = try ImageIO.read(path: record["path"] as! String).image
      for (positions, suffix) in [(AttentionPool2d.Positions.omitted, ""), (.interpolated, "_positions")] {
        metric.positions = positions
        let embedding = metric.image(CLIPIQA.pixels(image), positions: positions)
        let want = Tensor(shape: [1024], scalars: (record["embedding\(suffix)"] as! [Double]).map(Float.init))
        let relative = embedding.maxAbsoluteDifference(want) / want.scalars.map(abs).max()!
        let score = try metric.score(image), wantScore = record["score\(suffix)"] as! Double
        print("RN50 full size \(record["path"]!) \(positions): embedding max error \(relative) of its largest value; score \(score) vs \(wantScore), relative \(abs(score - wantScore) / wantScore)")
        #expect(relative < 1e-4)
        #expect(abs(score - wantScore) <= 1e-4 * wantScore)
      }
    }
  }
}
