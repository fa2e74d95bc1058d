import Foundation
import MISCNeural
import Testing

/// im2col against Winograd per layer shape, on one OpenBLAS thread: the measurements behind
/// `Conv2d.prefersWinograd` and `Winograd.minimumTiles` (docs/METRICS.md). Off unless MISC_CONV_TIMINGS is set
/// (`all`, or a prefix of the shape names); MISCNeural is built with -O in debug builds too:
///
///     MISC_CONV_TIMINGS=all taskset -c 1 swift test --filter ConvolutionTimingTests
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MISC_CONV_TIMINGS"] != nil))
struct ConvolutionTimingTests {
  /// name, inputs, outputs, height, width, kernel (stride 1, padding keeps the size; "alex1" is AlexNet's conv1:
  /// stride 4, padding 2).
  static let shapes: [(String, Int, Int, Int, Int, Int)] = [
    ("alex1", 3, 64, 512, 768, 11),
    // LPIPS/DISTS on a 768x512 Kodak image.
    ("vgg1_1", 3, 64, 512, 768, 3), ("vgg1_2", 64, 64, 512, 768, 3), ("vgg2_1", 64, 128, 256, 384, 3),
    ("vgg2_2", 128, 128, 256, 384, 3), ("vgg3_1", 128, 256, 128, 192, 3), ("vgg3_2", 256, 256, 128, 192, 3),
    ("vgg4_1", 256, 512, 64, 96, 3), ("vgg4_2", 512, 512, 64, 96, 3), ("vgg5", 512, 512, 32, 48, 3),
    ("alex2", 64, 192, 63, 95, 5), ("alex3", 192, 384, 31, 47, 3), ("alex4", 384, 256, 31, 47, 3), ("alex5", 256, 256, 31, 47, 3),
    // CLIP RN50 at 224.
    ("rn_stem2", 32, 32, 112, 112, 3), ("rn_stem3", 32, 64, 112, 112, 3), ("rn1", 64, 64, 56, 56, 3),
    ("rn2", 128, 128, 28, 28, 3), ("rn3", 256, 256, 14, 14, 3), ("rn4", 512, 512, 7, 7, 3),
    // Small images (tiles) and few channels.
    ("s9", 512, 512, 9, 9, 3), ("s10", 256, 256, 10, 10, 3), ("s11", 512, 512, 11, 11, 3),
    ("c4", 4, 16, 256, 256, 3), ("c4b", 4, 64, 256, 256, 3), ("c8", 8, 16, 256, 256, 3), ("c16", 16, 16, 256, 256, 3),
    ("k5c8", 8, 16, 128, 128, 5), ("k5c16", 16, 32, 128, 128, 5), ("k7c64", 64, 64, 64, 64, 7), ("k7c256", 256, 256, 32, 32, 7),
  ]

  @Test func im2colAgainstWinograd() throws {
    let filter = ProcessInfo.processInfo.environment["MISC_CONV_TIMINGS"] ?? "all"
    let threads = Gemm.threads
    Gemm.threads = 1
    defer { Gemm.threads = threads }
    for (name, inputs, outputs, height, width, kernel) in Self.shapes where filter == "all" || name.hasPrefix(filter) {
      let source = RandomTensors(shapes: ["w": [outputs, inputs, kernel, kernel], "b": [outputs], "x": [inputs, height, width]], scale: 1)
      let (stride, padding) = name == "alex1" ? (4, 2) : (1, kernel / 2)
      let conv = Conv2d(weight: try source.tensor("w"), bias: try source.tensor("b"), stride: stride, padding: padding)
      let x = try source.tensor("x")
      _ = conv(x, algorithm: .winograd)  // the kernel transform, once
      /// Best of five, in CPU seconds of this process.
      func best(_ algorithm: Conv2d.Algorithm) -> Double {
        (0..<5).map { _ in
          let start = clock()
          _ = conv(x, algorithm: algorithm)
          return Double(clock() - start) / Double(CLOCKS_PER_SEC)
        }.min()!
      }
      let (im2col, winograd) = (best(.im2col), best(.winograd))
      let out = conv.outputSize(height, kernel: kernel) * conv.outputSize(width, kernel: kernel)
      let macs = Double(outputs * inputs * kernel * kernel * out)
      print(String(format: "%@ %dx%dx%d->%d %dx%d: im2col %.2f ms (%.1f GMAC/s), winograd %.2f ms (%.1f GMAC/s equivalent), %.2fx, chosen: %@",
                   name, inputs, height, width, outputs, kernel, kernel, im2col * 1000, macs / im2col / 1e9, winograd * 1000,
                   macs / winograd / 1e9, im2col / winograd, "\(conv.algorithm(height: height, width: width))"))
    }
  }
}
