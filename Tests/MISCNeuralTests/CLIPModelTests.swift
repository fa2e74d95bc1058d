import Foundation
import MISCImage
import MISCNeural
import Testing

/// Parity with transformers on the tiny random CLIP (scripts/fixtures/make_clip_fixtures.py).
@Suite struct CLIPModelTests {
  static let tolerance: Float = 1e-4

  func image() throws -> Image { try ImageIO.read(path: Fixtures.image.path).image }

  /// Every 7th row and column, as the script stores them. [3, 224, 224] -> [3, 32, 32]
  func strided(_ pixels: Tensor) -> Tensor {
    Tensor(shape: [3, 32, 32]) { out in
      var k = 0
      for c in 0..<3 { for y in stride(from: 0, to: 224, by: 7) { for x in stride(from: 0, to: 224, by: 7) {
        out[k] = pixels.scalars[(c * 224 + y) * 224 + x]
        k += 1
      } } }
    }
  }

  @Test func preprocessingMatchesPIL() throws {
    let image = try image()
    let squash = CLIPPreprocessor(size: 224, resize: .squash)(image)
    let crop = CLIPPreprocessor(size: 224, resize: .shortestSideCenterCrop)(image)
    #expect(strided(squash).maxAbsoluteDifference(try Fixtures.floats("pixels_squash_stride7.bin", shape: [3, 32, 32])) < 1e-6)
    #expect(strided(crop).maxAbsoluteDifference(try Fixtures.floats("pixels_crop_stride7.bin", shape: [3, 32, 32])) < 1e-6)
  }

  @Test func imageTowerMatchesTransformers() throws {
    let model = try Fixtures.clip.get()
    let features = model.imageFeatures(model.preprocessor(.squash)(try image()))
    let tokens = try Fixtures.floats("image_tokens.bin", shape: [197, 24])
    #expect(features.tokens.maxAbsoluteDifference(tokens) < Self.tolerance)
    #expect(features.pooled.maxAbsoluteDifference(try Fixtures.floats("image_embed.bin", shape: [24])) < Self.tolerance)
    let crop = model.imageFeatures(model.preprocessor(.shortestSideCenterCrop)(try image()))
    #expect(crop.pooled.maxAbsoluteDifference(try Fixtures.floats("image_embed_crop.bin", shape: [24])) < Self.tolerance)
  }

  @Test func textTowerMatchesTransformers() throws {
    let model = try Fixtures.clip.get()
    let tokenizer = try CLIPTokenizer(directory: Fixtures.model)
    let strings = try Fixtures.json("summary.json")["text_strings"] as! [String]
    let expected = try Fixtures.floats("text_embeds.bin", shape: [strings.count, 24])
    // Unpadded sequences give the padded batch's result (causal attention, pooled at the end token).
    #expect(try model.textEmbeddings(strings.map(tokenizer.encode)).maxAbsoluteDifference(expected) < Self.tolerance)
    #expect(try model.textEmbeddings(strings.map(tokenizer.padded)).maxAbsoluteDifference(expected) < Self.tolerance)
  }

  /// Sequences that continue an earlier run's (sharing its first tokens) give what a full run gives,
  /// including one identical to the earlier sequence (only its end token is computed) and one that
  /// shares nothing.
  @Test func continuedSequencesMatchFullRuns() throws {
    let model = try Fixtures.clip.get()
    let tokenizer = try CLIPTokenizer(directory: Fixtures.model)
    let earlier = ["a photo of a .", "itap of the .", "a bad photo of a ."].map(tokenizer.encode)
    let (_, kept) = try model.text.encode(earlier, keepingStates: true)
    let states = try #require(kept)
    #expect(states.layers.count == model.text.layers.count)
    let later = ["a photo of a parrot.", "itap of the green leaves.", "a photo of a .", "parrot", "a bad photo of a red bicycle."]
      .map(tokenizer.encode)
    let continued = try model.text.encode(later, continuing: (states, [0, 1, 0, 2, 2])).embeddings
    #expect(continued.maxAbsoluteDifference(try model.textEmbeddings(later)) < 1e-5)
    let none = try model.text.encode(later, continuing: (states, [nil, nil, nil, nil, nil])).embeddings
    #expect(none.maxAbsoluteDifference(try model.textEmbeddings(later)) == 0)
  }

  @Test func surgeryFeaturesMatchTheReference() throws {
    let model = try Fixtures.clip.get()
    let pixels = model.preprocessor(.squash)(try image())
    let features = model.vision.surgeryFeatures(pixels, blocks: 6)
    #expect(features.maxAbsoluteDifference(try Fixtures.floats("surgery_tokens.bin", shape: [197, 24])) < Self.tolerance)
  }

  @Test func badTokensAreErrors() throws {
    let model = try Fixtures.clip.get()
    #expect(throws: CLIPError.self) { try model.textEmbeddings([[49406, 99_999, 49407]]) }
    #expect(throws: CLIPError.self) { try model.textEmbeddings([[]]) }
    #expect(throws: CLIPError.self) { try model.textEmbeddings([[Int](repeating: 1, count: 78)]) }
  }

  @Test func configurationErrorsNameTheFile() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("misc-clip-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let config = directory.appendingPathComponent("config.json")
    try Data(#"{"vision_config": {"hidden_size": 65, "num_attention_heads": 4}}"#.utf8).write(to: config)
    #expect {
      try CLIPConfiguration(contentsOf: config)
    } throws: { error in
      "\(error)".contains(config.path) && "\(error)".contains("multiple of its 4 heads")
    }
    try Data(#"{"text_config": {"hidden_act": "relu"}}"#.utf8).write(to: config)
    #expect(throws: CLIPError.self) { try CLIPConfiguration(contentsOf: config) }
    #expect {
      try CLIPModel(directory: directory)
    } throws: { error in
      "\(error)".contains("model.safetensors")
    }
  }

  @Test func realConfigurationDefaults() throws {
    // openai/clip-vit-base-patch16 writes only some keys; the rest are transformers' defaults.
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("misc-clip-\(UUID().uuidString).json")
    try Data(#"{"projection_dim": 512, "text_config": {"eos_token_id": 2}, "vision_config": {"patch_size": 16}}"#.utf8).write(to: directory)
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(try CLIPConfiguration(contentsOf: directory) == .vitB16)
  }
}
