import Foundation
import MISCImage
import MISCNeural

/// ClipSIM: the cosine similarity of the CLIP image embeddings (`image_embeds`: the class token after
/// `post_layernorm` and `visual_projection`) of the reference and the distorted image, in [-1, 1].
///
/// The paper does not name its CLIP model, so `modelID` is reported with every score. Only the image
/// tower of the Hugging Face folder is loaded. Preprocessing is CLIP's standard one by default (shortest
/// side to the tower's size with Pillow's BICUBIC, centre crop, CLIP's mean and std), as transformers'
/// `CLIPProcessor` and OpenAI's `preprocess` give it.
public struct ClipSIM: FullReferenceMetric {
  public let vision: CLIPVisionTransformer
  public let preprocessor: CLIPPreprocessor
  public let modelID: String?

  /// The folder name under the metric models directory that holds a CLIP for ClipSIM when no CLIP folder
  /// is given (`--clip-model`, `MISC_CLIP_MODEL`).
  public static let defaultFolderName = "clip-vit-base-patch16"

  public init(vision: CLIPVisionTransformer, preprocessor: CLIPPreprocessor, modelID: String?) {
    self.vision = vision
    self.preprocessor = preprocessor
    self.modelID = modelID
  }

  /// Loads the image tower of a Hugging Face CLIP folder (`config.json`, `model.safetensors`).
  /// The model id is the config's `_name_or_path` when it has one, else the folder's name.
  public init(directory: URL, resize: CLIPPreprocessor.Resize = .shortestSideCenterCrop) throws {
    let configURL = directory.appendingPathComponent("config.json")
    let weightsURL = directory.appendingPathComponent("model.safetensors")
    let configuration = try CLIPConfiguration(contentsOf: configURL)
    let weights = try SafeTensorsFile(path: weightsURL.path)
    let vision = try CLIPVisionTransformer(configuration: configuration.vision,
                                           projectionDimension: configuration.projectionDimension, weights: weights)
    self.init(vision: vision, preprocessor: CLIPPreprocessor(size: configuration.vision.imageSize, resize: resize),
              modelID: Self.modelID(configURL: configURL, directory: directory))
  }

  /// Finds the CLIP folder: `models.clipModel` when given (the flag or `MISC_CLIP_MODEL`, the locator's
  /// model), else `<metric models>/clip-vit-base-patch16`. An incomplete folder is
  /// `MetricError.weightsMissing` naming it; the first choice never falls back to the second.
  public init(models: MetricModels) throws {
    let folder = models.clipModel ?? models.directory.map { Self.folder(in: $0) }
    guard let folder, Self.isCLIPFolder(folder) else {
      let target = models.directory.map { Self.folder(in: $0) } ?? "DIR/\(Self.defaultFolderName)"
      throw MetricError.weightsMissing(
        metric: .clipsim,
        folder: folder ?? "(no --clip-model, MISC_CLIP_MODEL, --metric-models or MISC_METRIC_MODELS given)",
        detail: "a Hugging Face CLIP folder (config.json, model.safetensors)",
        command: "huggingface-cli download openai/clip-vit-base-patch16 config.json model.safetensors --local-dir \(target)"
          + " (or point --clip-model / MISC_CLIP_MODEL at any Hugging Face CLIP folder)")
    }
    try self.init(directory: URL(fileURLWithPath: folder))
  }

  public var id: MetricID { .clipsim }
  /// Any size: the preprocessing resizes to the tower's input.
  public var minimumSide: Int { 1 }

  /// CLIP's image embedding of one image, not normalised. [projection]
  public func embedding(_ image: Image) -> Tensor {
    let hidden = vision.hiddenStates(preprocessor(image))
    return vision.projection(vision.postLayerNorm(hidden.rows(0..<1))).reshaped([vision.projection.outputs])
  }

  /// cos(e_ref, e_dist), computed in Double from the Float32 embeddings. The two images go
  /// through the tower in one packed pass (`hiddenStates(packing:)`), as PyTorch runs a batch of two.
  public func score(reference: Image, distorted: Image) throws -> Double {
    let (states, sequences) = vision.hiddenStates(packing: [preprocessor(reference), preprocessor(distorted)])
    let classTokens = Tensor.concatenatingRows(sequences.map { states.rows($0.lowerBound..<($0.lowerBound + 1)) })
    let embeddings = vision.projection(vision.postLayerNorm(classTokens))
    return Self.cosine(embeddings.rows(0..<1), embeddings.rows(1..<2))
  }

  /// The cosine of two vectors of the same length; 0 when either is zero.
  public static func cosine(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.count == b.count, "cosine of \(a.shape) and \(b.shape)")
    var (dot, aa, bb) = (0.0, 0.0, 0.0)
    for (x, y) in zip(a.scalars, b.scalars) {
      dot += Double(x) * Double(y)
      aa += Double(x) * Double(x)
      bb += Double(y) * Double(y)
    }
    return aa > 0 && bb > 0 ? dot / (aa.squareRoot() * bb.squareRoot()) : 0
  }

  static func folder(in directory: String) -> String {
    URL(fileURLWithPath: directory).appendingPathComponent(defaultFolderName).path
  }

  static func isCLIPFolder(_ path: String) -> Bool {
    ["config.json", "model.safetensors"].allSatisfy {
      FileManager.default.fileExists(atPath: URL(fileURLWithPath: path).appendingPathComponent($0).path)
    }
  }

  /// `_name_or_path` of the config when set, else the folder's last path component.
  static func modelID(configURL: URL, directory: URL) -> String {
    if let data = try? Data(contentsOf: configURL),
       let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
       let name = root["_name_or_path"] as? String, !name.isEmpty {
      return name
    }
    return directory.standardizedFileURL.lastPathComponent
  }
}
