import Foundation
import MISCNeural

/// `misc bench clip`: the Swift CLIP towers' forward time at ViT-B/16 size, to compare with
/// PyTorch on the same machine (Benchmarks/clip/bench_torch.py). One timing loop (wall and process
/// CPU time) and one median rule for both towers and for the PyTorch comparison.
public enum CLIPBench {
  /// The case timed; the raw value is bench_torch.py's `--mode`.
  public enum Mode: String, Codable, Sendable, CaseIterable {
    /// The image tower's plain forward.
    case image
    /// CLIP Surgery's dual-path forward over the last 6 blocks.
    case surgery
    /// The text tower on one item's 85-prompt ensemble (`promptIDs`).
    case text
  }

  /// One timed tower.
  public struct Timing: Codable, Sendable {
    /// "ViT 768w 12L patch 16 at 224", or the text tower's prompt batch.
    public var model: String
    public var mode: Mode
    public var surgery: Bool
    public var threads: Int
    public var runs: Int
    /// Median wall-clock seconds per forward.
    public var medianSeconds: Double
    /// Fastest wall-clock seconds.
    public var minSeconds: Double
    /// Median process CPU seconds per forward (every thread), which other load disturbs far less
    /// than wall time.
    public var cpuMedianSeconds: Double

    public init(model: String, mode: Mode, threads: Int, runs: Int, medianSeconds: Double, minSeconds: Double, cpuMedianSeconds: Double) {
      self.model = model
      self.mode = mode
      self.surgery = mode == .surgery
      self.threads = threads
      self.runs = runs
      self.medianSeconds = medianSeconds
      self.minSeconds = minSeconds
      self.cpuMedianSeconds = cpuMedianSeconds
    }

    enum CodingKeys: String, CodingKey {
      case model, mode, surgery, threads, runs
      case medianSeconds = "median_s"
      case minSeconds = "min_s"
      case cpuMedianSeconds = "cpu_median_s"
    }
  }

  /// Wall and process CPU seconds of each timed call.
  struct Samples {
    var wall: [Double] = []
    var cpu: [Double] = []
  }

  /// One item's 85 prompts, 9 to 13 tokens each (935 in all, the longest 13); bench_torch.py
  /// `--mode text` builds the same ids.
  public static let promptIDs: [[Int]] = (0..<85).map { k in [49406] + (0..<(7 + k % 5)).map { 320 + $0 * 7 + k } + [49407] }

  /// Times `mode` at `threads` OpenBLAS threads (OpenBLAS's own choice when nil); `clipModel`
  /// (image and surgery only) is a Hugging Face CLIP folder to time instead of random ViT-B/16 weights.
  public static func measure(_ mode: Mode, clipModel: String? = nil, runs: Int, threads: Int? = nil) throws -> Timing {
    mode == .text ? try textTower(runs: runs, threads: threads)
      : try imageTower(clipModel: clipModel, surgery: mode == .surgery, runs: runs, threads: threads)
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
    var sink: Float = 0
    let samples = time(runs: runs) {
      sink += surgery ? vision.surgeryFeatures(pixels, blocks: min(6, v.layers)).scalars[0] : vision(pixels).tokens.scalars[0]
    }
    _ = sink
    return timing(samples, model: "ViT \(v.width)w \(v.layers)L patch \(v.patchSize) at \(v.imageSize)", mode: surgery ? .surgery : .image)
  }

  /// The text tower on one item's 85-prompt ensemble (`promptIDs`), with random ViT-B/16 text weights.
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
    let samples = try time(runs: runs) { _ = try tower(promptIDs) }
    return timing(samples, model: "\(promptIDs.count) prompts, \(promptIDs.joined().count) tokens", mode: .text)
  }

  /// The Swift side's result from its samples, at the current OpenBLAS thread count.
  static func timing(_ samples: Samples, model: String, mode: Mode) -> Timing {
    Timing(model: model, mode: mode, threads: Gemm.threads, runs: samples.wall.count, medianSeconds: median(samples.wall),
           minSeconds: samples.wall.min() ?? 0, cpuMedianSeconds: median(samples.cpu))
  }

  /// Wall and process CPU seconds of each of `runs` calls of `body`, after one warm-up call.
  static func time(runs: Int, _ body: () throws -> Void) rethrows -> Samples {
    try body()
    var samples = Samples()
    for _ in 0..<runs {
      let (start, startCPU) = (DispatchTime.now().uptimeNanoseconds, processCPUSeconds())
      try body()
      samples.wall.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
      samples.cpu.append(processCPUSeconds() - startCPU)
    }
    return samples
  }

  /// The median; the mean of the middle two for an even count.
  static func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }

  /// CPU seconds this process has used, over every thread.
  static func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
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
