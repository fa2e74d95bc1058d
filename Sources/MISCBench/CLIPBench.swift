import Foundation
import MISCNeural

/// `misc bench clip`: the Swift CLIP towers' forward time at ViT-B/16 size, to compare with
/// PyTorch on the same machine (Benchmarks/clip/bench_torch.py). One timing loop and one
/// median rule for both towers.
public enum CLIPBench {
  /// One timed tower.
  public struct Timing: Codable, Sendable {
    /// "ViT 768w 12L patch 16 at 224", or the text tower's prompt batch.
    public var model: String
    public var surgery: Bool
    public var threads: Int
    public var runs: Int
    public var medianSeconds: Double
    public var minSeconds: Double

    enum CodingKeys: String, CodingKey {
      case model, surgery, threads, runs
      case medianSeconds = "median_s"
      case minSeconds = "min_s"
    }
  }

  /// The image tower from a Hugging Face CLIP folder, or ViT-B/16 with seeded random weights of
  /// the real shapes; `surgery` times CLIP Surgery's dual path over the last 6 blocks.
  public static func imageTower(clipModel: String?, surgery: Bool, runs: Int, threads: Int? = nil) throws -> Timing {
    if let threads { Gemm.threads = threads }
    let vision: CLIPVisionTransformer
    let configuration: CLIPConfiguration
    if let clipModel {
      let directory = URL(fileURLWithPath: clipModel)
      configuration = try CLIPConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
      let weights = try SafeTensorsFile(path: directory.appendingPathComponent("model.safetensors").path)
      vision = try CLIPVisionTransformer(configuration: configuration.vision, projectionDimension: configuration.projectionDimension, weights: weights)
    } else {
      configuration = .vitB16
      vision = try CLIPVisionTransformer(configuration: configuration.vision, projectionDimension: configuration.projectionDimension,
                                         weights: RandomTensors(shapes: visionShapes(configuration)))
    }
    let v = configuration.vision
    let pixels = try RandomTensors(shapes: ["pixels": [3, v.imageSize, v.imageSize]], scale: 2).tensor("pixels")
    let seconds = time(runs: runs) {
      _ = surgery ? vision.surgeryFeatures(pixels, blocks: min(6, v.layers)).scalars[0] : vision(pixels).tokens.scalars[0]
    }
    return Timing(model: "ViT \(v.width)w \(v.layers)L patch \(v.patchSize) at \(v.imageSize)", surgery: surgery,
                  threads: Gemm.threads, runs: runs, medianSeconds: median(seconds), minSeconds: seconds.min() ?? 0)
  }

  /// The text tower on one item's 85-prompt ensemble (9 to 13 tokens each for a one-word
  /// name), with random ViT-B/16 text weights.
  public static func textTower(runs: Int, threads: Int? = nil) throws -> Timing {
    if let threads { Gemm.threads = threads }
    let configuration = CLIPConfiguration.vitB16
    let t = configuration.text
    var shapes: [String: [Int]] = [
      "text_model.embeddings.token_embedding.weight": [t.vocabularySize, t.width],
      "text_model.embeddings.position_embedding.weight": [t.maxPositions, t.width],
      "text_model.final_layer_norm.weight": [t.width], "text_model.final_layer_norm.bias": [t.width],
      "text_projection.weight": [configuration.projectionDimension, t.width],
    ]
    for (name, shape) in layerShapes(prefix: "text_model.encoder.layers", layers: t.layers, width: t.width, intermediate: t.intermediateSize) {
      shapes[name] = shape
    }
    let tower = try CLIPTextTransformer(configuration: t, projectionDimension: configuration.projectionDimension, weights: RandomTensors(shapes: shapes))
    let ids = (0..<85).map { k in [49406] + (0..<(7 + k % 5)).map { 320 + $0 * 7 + k } + [49407] }
    var failure: (any Error)?
    let seconds = time(runs: runs) {
      do { _ = try tower(ids) } catch { failure = error }
    }
    if let failure { throw failure }
    return Timing(model: "text tower, 85 prompts, \(ids.reduce(0) { $0 + $1.count }) tokens", surgery: false,
                  threads: Gemm.threads, runs: runs, medianSeconds: median(seconds), minSeconds: seconds.min() ?? 0)
  }

  /// Seconds of each of `runs` calls of `body`, after one warm-up call.
  static func time(runs: Int, _ body: () -> Void) -> [Double] {
    body()
    return (0..<runs).map { _ in
      let start = DispatchTime.now().uptimeNanoseconds
      body()
      return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
  }

  /// The median; the mean of the middle two for an even count.
  static func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }

  /// The tensors of a Hugging Face CLIP encoder's `layers` blocks and their shapes.
  public static func layerShapes(prefix: String, layers: Int, width c: Int, intermediate: Int) -> [String: [Int]] {
    var shapes: [String: [Int]] = [:]
    for i in 0..<layers {
      let p = "\(prefix).\(i)"
      for name in ["q_proj", "k_proj", "v_proj", "out_proj"] {
        shapes["\(p).self_attn.\(name).weight"] = [c, c]
        shapes["\(p).self_attn.\(name).bias"] = [c]
      }
      for name in ["layer_norm1", "layer_norm2"] {
        shapes["\(p).\(name).weight"] = [c]
        shapes["\(p).\(name).bias"] = [c]
      }
      shapes["\(p).mlp.fc1.weight"] = [intermediate, c]
      shapes["\(p).mlp.fc1.bias"] = [intermediate]
      shapes["\(p).mlp.fc2.weight"] = [c, intermediate]
      shapes["\(p).mlp.fc2.bias"] = [c]
    }
    return shapes
  }

  /// The vision tensors of a Hugging Face CLIP checkpoint and their shapes.
  public static func visionShapes(_ configuration: CLIPConfiguration) -> [String: [Int]] {
    let v = configuration.vision
    let c = v.width
    var shapes: [String: [Int]] = [
      "vision_model.embeddings.patch_embedding.weight": [c, v.channels, v.patchSize, v.patchSize],
      "vision_model.embeddings.class_embedding": [c],
      "vision_model.embeddings.position_embedding.weight": [v.tokens, c],
      "vision_model.pre_layrnorm.weight": [c], "vision_model.pre_layrnorm.bias": [c],
      "vision_model.post_layernorm.weight": [c], "vision_model.post_layernorm.bias": [c],
      "visual_projection.weight": [configuration.projectionDimension, c],
    ]
    for (name, shape) in layerShapes(prefix: "vision_model.encoder.layers", layers: v.layers, width: c, intermediate: v.intermediateSize) {
      shapes[name] = shape
    }
    return shapes
  }
}
