import Foundation

/// A CLIP model (image and text towers) loaded from a local Hugging Face folder.
public struct CLIPModel: Sendable {
  public let configuration: CLIPConfiguration
  public let vision: CLIPVisionTransformer
  public let text: CLIPTextTransformer

  public init(configuration: CLIPConfiguration, weights: any TensorSource) throws {
    self.configuration = configuration
    vision = try CLIPVisionTransformer(configuration: configuration.vision, projectionDimension: configuration.projectionDimension, weights: weights)
    text = try CLIPTextTransformer(configuration: configuration.text, projectionDimension: configuration.projectionDimension, weights: weights)
  }

  /// Loads `config.json` and `model.safetensors` from `directory` (e.g. a download of
  /// `openai/clip-vit-base-patch16`).
  public init(directory: URL) throws {
    let configURL = directory.appendingPathComponent("config.json")
    let weightsURL = directory.appendingPathComponent("model.safetensors")
    for url in [configURL, weightsURL] where !FileManager.default.fileExists(atPath: url.path) {
      throw CLIPError.cannotRead(path: url.path, reason: "no such file (a Hugging Face CLIP folder has config.json and model.safetensors)")
    }
    try self.init(configuration: CLIPConfiguration(contentsOf: configURL), weights: SafeTensorsFile(path: weightsURL.path))
  }

  /// The preprocessing this model expects: its image size, CLIP's mean and std.
  public func preprocessor(_ resize: CLIPPreprocessor.Resize = .squash) -> CLIPPreprocessor {
    CLIPPreprocessor(size: configuration.vision.imageSize, resize: resize)
  }

  /// Per-token features and pooled embedding of a preprocessed image. [3, size, size] -> features
  public func imageFeatures(_ pixels: Tensor) -> CLIPImageFeatures { vision(pixels) }

  /// Pooled text embeddings (`get_text_features`, not normalised). [[ids]] -> [sequences, projection]
  public func textEmbeddings(_ ids: [[Int]]) throws -> Tensor { try text(ids) }
}
