import ArgumentParser
import Foundation
import MISC
import MISCNeural

/// `misc bench clip`: the Swift CLIP image tower's forward time at ViT-B/16 size, to compare with
/// PyTorch on the same machine (Benchmarks/clip/bench_torch.py).
struct BenchCLIP: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clip",
    abstract: "Time the CLIP image-tower forward (ViT-B/16 shapes, random weights) on OpenBLAS.",
    discussion: """
      Builds the image tower from --clip-model's config.json and weights, or ViT-B/16 with seeded random \
      weights of the real shapes, and prints the median of --runs forwards after one warm-up. Compare with \
      `python Benchmarks/clip/bench_torch.py --threads N` (same shapes, same thread count); see docs/CLIP.md.
      """
  )

  @Option(help: "Forward passes to time (the median is reported).")
  var runs: Int = 10

  @Option(help: "OpenBLAS threads (default: OpenBLAS's own choice, usually the core count).")
  var threads: Int?

  @Flag(help: "Time CLIP Surgery's dual-path forward (last 6 blocks) instead of the plain one.")
  var surgery = false

  @Flag(help: "Time the text tower on one item's 85-prompt ensemble (random ViT-B/16 text weights) instead.")
  var text = false

  @Option(name: .customLong("clip-model"), help: "A Hugging Face CLIP folder to time instead of random ViT-B/16 weights.")
  var clipModel: String?

  @Flag(help: "Print the result as JSON.")
  var json = false

  @OptionGroup(title: "PyTorch comparison")
  var torch: TorchComparisonOptions

  func validate() throws {
    if runs < 1 || runs > 1000 { throw ValidationError("--runs must be within 1...1000 (got \(runs))") }
    if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be within 1...256 (got \(threads))") }
    if torch.python != nil && clipModel != nil { throw ValidationError("--compare-torch times ViT-B/16's shapes on both sides; drop --clip-model") }
  }

  func run() async throws {
    if let python = torch.python { return try compareWithTorch(python: python) }
    if let threads { Gemm.threads = threads }
    let timing = try measureSwift()
    let model = text ? "85 prompts, \(Self.promptIDs.joined().count) tokens" : imageModelName
    if json {
      Console.out(#"{"model": "\#(model)", "mode": "\#(torchMode)", "surgery": \#(surgery), "threads": \#(Gemm.threads), "runs": \#(runs), "median_s": \#(timing.median), "min_s": \#(timing.minimum), "cpu_median_s": \#(timing.cpuMedian)}"#)
    } else {
      Console.out(String(format: "swift %@ (%@): median %.4f s, min %.4f s, CPU %.4f s over %d runs, %d OpenBLAS threads",
                         torchMode as NSString, model as NSString, timing.median, timing.minimum, timing.cpuMedian, runs, Gemm.threads))
    }
  }

  /// The image tower timed: the --clip-model folder, or ViT-B/16's shapes.
  private var imageModelName: String {
    if let clipModel { return clipModel }
    let v = CLIPConfiguration.vitB16.vision
    return "ViT \(v.width)w \(v.layers)L patch \(v.patchSize) at \(v.imageSize)"
  }

  /// Times the chosen forward at the current OpenBLAS thread count.
  func measureSwift() throws -> ForwardTiming {
    if text { return try measureText() }
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
                                         weights: RandomTensors(shapes: Self.visionShapes(configuration)))
    }
    let size = configuration.vision.imageSize
    let pixels = try RandomTensors(shapes: ["pixels": [3, size, size]], scale: 2).tensor("pixels")
    var sink: Float = 0
    let timing = ForwardTiming.measure(runs: runs) {
      sink += surgery ? vision.surgeryFeatures(pixels, blocks: min(6, configuration.vision.layers)).scalars[0] : vision(pixels).tokens.scalars[0]
    }
    _ = sink
    return timing
  }

  /// One item's 85 prompts, 9 to 13 tokens each (935 in all); bench_torch.py --mode text uses the same ids.
  static let promptIDs = (0..<85).map { k in [49406] + (0..<(7 + k % 5)).map { 320 + $0 * 7 + k } + [49407] }

  /// One CLIP Surgery item costs 85 prompts through the text tower (9 to 13 tokens each for a one-word name).
  private func measureText() throws -> ForwardTiming {
    let configuration = CLIPConfiguration.vitB16
    let t = configuration.text
    var shapes: [String: [Int]] = [
      "text_model.embeddings.token_embedding.weight": [t.vocabularySize, t.width],
      "text_model.embeddings.position_embedding.weight": [t.maxPositions, t.width],
      "text_model.final_layer_norm.weight": [t.width], "text_model.final_layer_norm.bias": [t.width],
      "text_projection.weight": [configuration.projectionDimension, t.width],
    ]
    for (name, shape) in Self.layerShapes(prefix: "text_model.encoder.layers", layers: t.layers, width: t.width, intermediate: t.intermediateSize) {
      shapes[name] = shape
    }
    let tower = try CLIPTextTransformer(configuration: t, projectionDimension: configuration.projectionDimension, weights: RandomTensors(shapes: shapes))
    return try ForwardTiming.measure(runs: runs) { _ = try tower(Self.promptIDs) }
  }

  static func layerShapes(prefix: String, layers: Int, width c: Int, intermediate: Int) -> [String: [Int]] {
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
  static func visionShapes(_ configuration: CLIPConfiguration) -> [String: [Int]] {
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
