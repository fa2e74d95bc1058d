import ArgumentParser
import Foundation
import MISCBench

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

  func validate() throws {
    if runs < 1 || runs > 1000 { throw ValidationError("--runs must be within 1...1000 (got \(runs))") }
    if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be within 1...256 (got \(threads))") }
  }

  func run() async throws {
    let timing = text ? try CLIPBench.textTower(runs: runs, threads: threads)
      : try CLIPBench.imageTower(clipModel: clipModel, surgery: surgery, runs: runs, threads: threads)
    if json {
      Console.out(JSONLine.encode(timing))
    } else {
      Console.out("swift \(text ? "" : "image tower, ")\(timing.model)\(timing.surgery ? ", surgery" : ""): median \(format(timing.medianSeconds, 4)) s, min \(format(timing.minSeconds, 4)) s over \(timing.runs) runs, \(timing.threads) OpenBLAS threads")
    }
  }
}
