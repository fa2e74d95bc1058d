import Foundation
import MISCImage
import MISCNeural

/// CLIP-IQA (Wang et al., AAAI 2023) as pyiqa's `clipiqa` computes it: OpenAI's CLIP RN50 scores the image
/// against five antonym prompt pairs; each pair's softmax of `logit_scale · cos` gives the probability of
/// the positive prompt, and the score is their mean, in [0, 1], higher is better.
///
/// The input is the image at its own size (no resize, no crop), RGB / 255 normalised with CLIP's mean and
/// std, and the attention pool runs without its positional embedding (pyiqa's `pos_embedding=False`).
/// The prompts' text features are computed once, at load, by the CLIP text tower from the tokenizer.
public struct CLIPIQA: NoReferenceMetric {
  /// pyiqa's prompt pairs, positive first, in its order.
  public static let promptPairs: [(positive: String, negative: String)] = [
    ("Good image", "bad image"), ("Sharp image", "blurry image"), ("sharp edges", "blurry edges"),
    ("High resolution image", "low resolution image"), ("Noise-free image", "noisy image"),
  ]
  /// The folder under the metric models directory (scripts/convert_clip_rn50.py makes it).
  public static let folderName = "clip-rn50"
  public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
  public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

  public let image: ModifiedResNet
  /// The prompts' text embeddings, L2-normalised, positive and negative interleaved. [10, projection]
  public let promptFeatures: Tensor
  /// exp of the checkpoint's `logit_scale` (100 for OpenAI's RN50).
  public let logitScale: Float
  /// How the attention pool uses its positional embedding: `.omitted` is pyiqa's default.
  public var positions: AttentionPool2d.Positions
  public let modelID: String?

  public init(image: ModifiedResNet, promptFeatures: Tensor, logitScale: Float,
              positions: AttentionPool2d.Positions = .omitted, modelID: String?) {
    precondition(promptFeatures.rank == 2 && promptFeatures.rows == 2 * Self.promptPairs.count,
                 "CLIP-IQA needs \(2 * Self.promptPairs.count) prompt features, got \(promptFeatures.shape)")
    self.image = image
    self.promptFeatures = promptFeatures
    self.logitScale = logitScale
    self.positions = positions
    self.modelID = modelID
  }

  /// Loads a folder written by scripts/convert_clip_rn50.py: config.json, model.safetensors, vocab.json,
  /// merges.txt. The model id is the config's `_name_or_path` ("openai/RN50"), else the folder's name.
  public init(directory: URL, positions: AttentionPool2d.Positions = .omitted) throws {
    let configURL = directory.appendingPathComponent("config.json")
    let weights = try SafeTensorsFile(path: directory.appendingPathComponent("model.safetensors").path)
    let text = try CLIPConfiguration(contentsOf: configURL)
    let tower = try CLIPTextTransformer(configuration: text.text, projectionDimension: text.projectionDimension, weights: weights)
    let tokenizer = try CLIPTokenizer(directory: directory)
    let prompts = Self.promptPairs.flatMap { [$0.positive, $0.negative] }
    let features = try tower(prompts.map(tokenizer.encode))
    let rows = (0..<features.rows).map { features.row($0).normalized().reshaped([1, features.columns]) }
    let scale = try weights.tensor("logit_scale")
    guard scale.count == 1 else {
      throw TensorSourceError.wrongShape(name: "logit_scale", source: weights.sourceDescription, expected: [], found: scale.shape)
    }
    let image = try ModifiedResNet(configuration: .init(contentsOf: configURL), weights: weights)
    guard image.configuration.outputDimension == text.projectionDimension else {
      throw CLIPError.badConfiguration(path: configURL.path, reason: "vision output_dim \(image.configuration.outputDimension) differs from projection_dim \(text.projectionDimension)")
    }
    self.init(image: image, promptFeatures: Tensor.concatenatingRows(rows), logitScale: exp(scale.scalars[0]),
              positions: positions, modelID: ClipSIM.modelID(configURL: configURL, directory: directory))
  }

  /// Loads `<metric models>/clip-rn50`; missing is `MetricError.weightsMissing` with the conversion command.
  public init(models: MetricModels) throws {
    let command = "python scripts/convert_clip_rn50.py RN50.pt \(models.directory.map { URL(fileURLWithPath: $0).appendingPathComponent(Self.folderName).path } ?? "DIR/\(Self.folderName)")"
      + " (RN50.pt: OpenAI's CLIP checkpoint, e.g. ~/.cache/clip/RN50.pt after clip.load(\"RN50\"))"
    guard let directory = models.directory else {
      throw MetricError.weightsMissing(metric: .clipiqa, folder: "(no --metric-models or MISC_METRIC_MODELS given)",
                                       detail: "the CLIP RN50 folder \(Self.folderName)", command: command)
    }
    let folder = URL(fileURLWithPath: directory).appendingPathComponent(Self.folderName)
    let missing = ["config.json", "model.safetensors", "vocab.json", "merges.txt"].filter {
      !FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
    }
    guard missing.isEmpty else {
      throw MetricError.weightsMissing(metric: .clipiqa, folder: folder.path,
                                       detail: "no \(missing.joined(separator: ", "))", command: command)
    }
    try self.init(directory: folder)
  }

  public var id: MetricID { .clipiqa }
  /// The side that keeps one position through the ResNet's 32x reduction.
  public var minimumSide: Int { ModifiedResNet.minimumSide }

  /// RGB / 255 normalised with CLIP's mean and std, at the image's own size. [3, height, width]
  public static func pixels(_ image: Image) -> Tensor {
    let plane = image.width * image.height
    return Tensor(shape: [3, image.height, image.width]) { out in
      image.pixels.withUnsafeBufferPointer { src in
        for c in 0..<3 {
          let (m, s) = (mean[c], std[c])
          for i in 0..<plane { out[c * plane + i] = (Float(src[i * 3 + c]) / 255 - m) / s }
        }
      }
    }
  }

  /// The probability of each pair's positive prompt. [5]
  public func pairProbabilities(_ image: Image) -> [Double] {
    let embedding = self.image(Self.pixels(image), positions: positions).normalized()
    let logits = promptFeatures.matmul(embedding.reshaped([embedding.count, 1])).scalars.map { Double(logitScale * $0) }
    return stride(from: 0, to: logits.count, by: 2).map { 1 / (1 + exp(logits[$0 + 1] - logits[$0])) }
  }

  public func score(_ image: Image) throws -> Double {
    try checkSize(image)
    let probabilities = pairProbabilities(image)
    return probabilities.reduce(0, +) / Double(probabilities.count)
  }
}
