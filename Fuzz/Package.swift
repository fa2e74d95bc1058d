// swift-tools-version:6.1
// MISC's libFuzzer targets (Fuzz/README.md). A package of its own, so that the main package's
// build and CI never see -sanitize=fuzzer: its library targets are symbolic links to ../Sources.
// Build: swift build -c release --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address
//   -Xswiftc -parse-as-library
// (scripts: Fuzz/fuzz.sh, `make fuzz SECONDS=N`).
import PackageDescription

let package = Package(
  name: "MISCFuzz",
  platforms: [.macOS(.v14)],
  targets: [
    .systemLibrary(name: "CPNG", pkgConfig: "libpng16", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .target(name: "MISCImage", dependencies: ["CPNG", "CTurboJPEG"]),
    .target(name: "MISCCoding", resources: [.copy("Resources")]),
    // The same sources (Sources/MISCCodingBody is another link to ../Sources/MISCCoding) as a
    // module of their own for FuzzContainerBody, instrumented for edge coverage without
    // comparison tracing: every comparison in the body is of range-decoded values, which
    // libFuzzer's compare-guided mutations (they copy compared operands into the input) cannot
    // reach, and tracing them (the text model's per-bit loops) cost half of each execution.
    // These flags replace the defaults of -sanitize=fuzzer (the same list plus trace-cmp).
    .target(name: "MISCCodingBody", resources: [.copy("Resources")],
            swiftSettings: [.unsafeFlags(["-sanitize-coverage=edge,indirect-calls,inline-8bit-counters,pc-table"])]),
    .target(name: "MISCNeural", dependencies: ["COpenBLAS", "MISCImage"]),
    .target(name: "MISCMetrics", dependencies: ["MISCImage", "MISCNeural"]),
    .target(name: "MISC", dependencies: ["MISCImage", "MISCCoding", "MISCMetrics", "MISCNeural"]),

    // 1. Container.decode on raw bytes.
    .executableTarget(name: "FuzzContainer", dependencies: ["MISCCoding"], path: "Targets/FuzzContainer"),
    // 2. The same with the CRC recomputed, so that mutations reach the range-coded body.
    //    Built on MISCCodingBody: no comparison tracing (see above).
    .executableTarget(name: "FuzzContainerBody", dependencies: ["MISCCodingBody"], path: "Targets/FuzzContainerBody"),
    // 3. The semantics JSON loader.
    .executableTarget(name: "FuzzSemantics", dependencies: ["MISC"], path: "Targets/FuzzSemantics"),
    // 4. The safetensors header parser.
    .executableTarget(name: "FuzzSafeTensors", dependencies: ["MISCNeural"], path: "Targets/FuzzSafeTensors"),
    // 5. PNG and JPEG reading.
    .executableTarget(name: "FuzzImage", dependencies: ["MISCImage"], path: "Targets/FuzzImage"),
  ]
)
