import ArgumentParser
import Foundation
import MISCBench

/// `misc bench clip`: the Swift CLIP towers' forward time at ViT-B/16 size, to compare with
/// PyTorch on the same machine (Benchmarks/clip/bench_torch.py). The engine is MISCBench.CLIPBench;
/// this command parses, calls it and formats.
struct BenchCLIP: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clip",
    abstract: "Time the CLIP image-tower forward (ViT-B/16 shapes, random weights) on OpenBLAS.",
    discussion: """
      Builds the image tower from --clip-model's config.json and weights, or ViT-B/16 with seeded random \
      weights of the real shapes, and prints the median wall and process CPU time of --runs forwards after \
      one warm-up. Compare with `python Benchmarks/clip/bench_torch.py --threads N --mode image|surgery|text` \
      (same shapes, same thread count), or let --compare-torch run it; see docs/CLIP.md.
      """
  )

  @Option(help: "Forward passes to time (the median is reported).")
  var runs: Int = 10

  @Option(help: "OpenBLAS threads (default: OpenBLAS's own choice, usually the core count).")
  var threads: Int?

  @Flag(help: "Time CLIP Surgery's dual-path forward (last 6 blocks) instead of the plain one.")
  var surgery = false

  @Flag(help: "Time the text tower on one item's 85-prompt ensemble (935 tokens, random ViT-B/16 text weights) instead.")
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

  /// The case timed, bench_torch.py's --mode.
  var mode: CLIPBench.Mode { text ? .text : surgery ? .surgery : .image }

  func run() async throws {
    if let python = torch.python { return try compareWithTorch(python: python) }
    let timing = try CLIPBench.measure(mode, clipModel: clipModel, runs: runs, threads: threads)
    if json {
      Console.out(JSONLine.encode(timing))
    } else {
      Console.out("swift \(timing.mode.rawValue) (\(timing.model)): median \(format(timing.medianSeconds, 4)) s, min \(format(timing.minSeconds, 4)) s, CPU \(format(timing.cpuMedianSeconds, 4)) s over \(timing.runs) runs, \(timing.threads) OpenBLAS threads")
    }
  }
}
