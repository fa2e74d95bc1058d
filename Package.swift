// swift-tools-version:6.1
import PackageDescription

/// Numeric kernels are compiled with -O even in debug builds: unoptimised Swift arithmetic is
/// about 150x slower and would make the tests crawl.
let optimizeAlways: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
  name: "MISC",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "misc", targets: ["MISCTool"]),
    .executable(name: "misc-train-text", targets: ["MISCTrainText"]),
    .library(name: "MISC", targets: ["MISC"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    // Tests only: a small HTTP server for the fake model servers on 127.0.0.1.
    .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
  ],
  // Each target declares every module its sources import, none reached through another target.
  targets: [
    // C shims over the system libraries (Debian: libpng-dev, libturbojpeg0-dev).
    .systemLibrary(name: "CPNG", pkgConfig: "libpng16", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

    .target(name: "MISCImage", dependencies: ["CPNG", "CTurboJPEG"], swiftSettings: optimizeAlways),
    .target(name: "MISCCoding", resources: [.copy("Resources")], swiftSettings: optimizeAlways),
    /// CPU inference: tensors, BLAS-backed ops, safetensors, CLIP, its tokenizer, CLIP Surgery.
    .target(name: "MISCNeural", dependencies: ["COpenBLAS", "MISCImage"], swiftSettings: optimizeAlways),
    .target(name: "MISCMetrics", dependencies: ["MISCImage", "MISCNeural"], swiftSettings: optimizeAlways),
    .target(name: "MISC", dependencies: ["MISCImage", "MISCCoding", "MISCMetrics", "MISCNeural"], swiftSettings: optimizeAlways),
    /// Benchmarks behind `misc bench`: reference codecs, BD-rate, plots.
    .target(name: "MISCBench", dependencies: ["MISC", "MISCImage", "MISCCoding", "MISCMetrics", "MISCNeural"], swiftSettings: optimizeAlways),
    .executableTarget(
      name: "MISCTool",
      dependencies: ["MISC", "MISCBench", "MISCCoding", "MISCImage", "MISCMetrics", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    /// Builds the text coder's static model from the caption corpus.
    .executableTarget(name: "MISCTrainText", dependencies: ["MISCCoding"], swiftSettings: optimizeAlways),

    .testTarget(name: "MISCImageTests", dependencies: ["MISCImage"], resources: [.copy("Fixtures")]),
    .testTarget(name: "MISCCodingTests", dependencies: ["MISCCoding"]),
    .testTarget(name: "MISCMetricsTests", dependencies: ["MISCMetrics", "MISCImage", "MISCNeural"], resources: [.copy("Fixtures")]),
    .testTarget(name: "MISCNeuralTests", dependencies: ["MISCNeural", "MISCImage"], resources: [.copy("Fixtures")]),
    .testTarget(name: "MISCTests", dependencies: ["MISC", "MISCCoding", "MISCImage", "MISCMetrics", "MISCNeural", .product(name: "FlyingFox", package: "FlyingFox")]),
    .testTarget(name: "MISCBenchTests", dependencies: ["MISCBench", "MISCCoding", "MISCImage", "MISCMetrics", "MISCNeural"]),
    .testTarget(name: "MISCToolTests", dependencies: ["MISCTool", "MISCCoding", "MISCImage"]),
  ]
)
