import Foundation
import MISCImage
import MISCNeural
import Testing

/// The CLIP ResNet tower and the OpenAI text tower of a converted RN50-layout folder, against pyiqa's
/// `CLIP` on a tiny random model (scripts/fixtures/make_clip_rn50_fixtures.py).
@Suite struct ModifiedResNetTests {
  static let directory = Fixtures.root.appendingPathComponent("clip-rn50-tiny")
  static let expected = Result { try SafeTensorsFile(path: directory.appendingPathComponent("expected.safetensors").path) }
  static let model = Result {
    try ModifiedResNet(configuration: .init(contentsOf: directory.appendingPathComponent("config.json")),
                       weights: SafeTensorsFile(path: directory.appendingPathComponent("model.safetensors").path))
  }
  static let tolerance: Float = 1e-4

  /// x / 255, CLIP's mean and std, at the image's own size. [3, height, width]
  static func pixels(_ name: String) throws -> Tensor {
    let image = try ImageIO.read(path: directory.appendingPathComponent("clipiqa/\(name)").path).image
    let mean: [Float] = [0.48145466, 0.4578275, 0.40821073], std: [Float] = [0.26862954, 0.26130258, 0.27577711]
    let plane = image.width * image.height
    return Tensor(shape: [3, image.height, image.width]) { out in
      for c in 0..<3 { for i in 0..<plane { out[c * plane + i] = (Float(image.pixels[i * 3 + c]) / 255 - mean[c]) / std[c] } }
    }
  }

  @Test func configurationIsRead() throws {
    let configuration = try Self.model.get().configuration
    #expect(configuration.layers == [2, 1, 1, 2] && configuration.width == 4 && configuration.heads == 2)
    #expect(configuration.embeddingChannels == 128 && configuration.grid == 7 && configuration.outputDimension == 16)
  }

  @Test func featuresMatchPyTorchAtOddSides() throws {
    let (model, expected) = (try Self.model.get(), try Self.expected.get())
    let input = try expected.tensor("input")
    #expect(try Self.pixels("kodim05-75x101.png").maxAbsoluteDifference(input) < 1e-6)
    let features = model.features(input)
    for (name, feature) in zip(["stem", "layer1", "layer2", "layer3", "layer4"], features) {
      let want = try expected.tensor(name)
      #expect(feature.shape == want.shape, "\(name)")
      #expect(feature.maxAbsoluteDifference(want) < Self.tolerance, "\(name): \(feature.maxAbsoluteDifference(want))")
    }
    // [3, 101, 75] -> layer4 [128, 3, 2]: a 7-token attention pool.
    #expect(features.last!.shape == [128, 3, 2])
    let omitted = model(input, positions: .omitted), interpolated = model(input, positions: .interpolated)
    #expect(omitted.maxAbsoluteDifference(try expected.tensor("pooled")) < Self.tolerance)
    #expect(interpolated.maxAbsoluteDifference(try expected.tensor("pooled_positions")) < Self.tolerance)
    #expect(omitted.maxAbsoluteDifference(interpolated) > 1e-3)  // the embedding matters in this model
  }

  @Test func attentionPoolMatchesAtTheTrainingSize() throws {
    let (model, expected) = (try Self.model.get(), try Self.expected.get())
    let input = try Self.pixels("kodim23-224x224.png")
    #expect(model(input, positions: .omitted).maxAbsoluteDifference(try expected.tensor("pooled224")) < Self.tolerance)
    #expect(model(input, positions: .interpolated).maxAbsoluteDifference(try expected.tensor("pooled224_positions")) < Self.tolerance)
    let pool = model.attentionPool
    #expect(pool.interpolatedEmbedding(tokens: 50) == pool.positionalEmbedding)
  }

  @Test func textTowerReadsTheConvertedOpenAILayout() throws {
    let configuration = try CLIPConfiguration(contentsOf: Self.directory.appendingPathComponent("config.json"))
    let weights = try SafeTensorsFile(path: Self.directory.appendingPathComponent("model.safetensors").path)
    let text = try CLIPTextTransformer(configuration: configuration.text, projectionDimension: configuration.projectionDimension, weights: weights)
    let tokenizer = try CLIPTokenizer(directory: Fixtures.model)
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.directory.appendingPathComponent("clipiqa/expected.json"))) as! [String: Any]
    let prompts = json["prompts"] as! [String]
    #expect(prompts.map(tokenizer.encode) == json["prompt_ids"] as! [[Int]])
    let features = try text(prompts.map(tokenizer.encode))
    #expect(features.maxAbsoluteDifference(try Self.expected.get().tensor("text")) < Self.tolerance)
  }

  @Test func badConfigurationsNameTheFileAndKey() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rn50-\(UUID().uuidString).json")
    defer { try? FileManager.default.removeItem(at: url) }
    try Data(#"{"vision_config": {"layers": [3, 4, 6, 3], "width": 64, "heads": 30, "image_size": 224, "output_dim": 1024}}"#.utf8).write(to: url)
    #expect { try ModifiedResNet.Configuration(contentsOf: url) } throws: { "\($0)".contains(url.path) && "\($0)".contains("heads 30") }
    try Data(#"{"vision_config": {"layers": [3, 4, 6], "width": 64}}"#.utf8).write(to: url)
    #expect { try ModifiedResNet.Configuration(contentsOf: url) } throws: { "\($0)".contains("layers") }
    try Data(#"{"text_config": {}}"#.utf8).write(to: url)
    #expect { try ModifiedResNet.Configuration(contentsOf: url) } throws: { "\($0)".contains("vision_config") }
  }
}
