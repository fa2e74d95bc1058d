import Foundation
import MISCImage
import Testing
@testable import MISCBench

@Suite struct BjontegaardDeltaTests {
  /// A typical curve: PSNR rising with log-rate, bent like real codecs.
  private func curve(scale: Double) -> [RDPoint] {
    [100, 150, 220, 330, 500, 750].map { bytes in
      let psnr = 20 + 6 * log(bytes / 100) - 0.3 * pow(log(bytes / 100), 2)
      return RDPoint(bytes: Int((bytes * scale * 1000).rounded()), psnr: psnr)
    }
  }

  /// The same PSNR at 0.8× the bytes everywhere is exactly −20%, whatever the fit.
  @Test func scaledRateGivesTheScale() throws {
    let reference = curve(scale: 1)
    let test = curve(scale: 0.8)
    let rate = try #require(BjontegaardDelta.rate(reference: reference, test: test))
    #expect(abs(rate - -20) < 0.01, "\(rate)")
    let back = try #require(BjontegaardDelta.rate(reference: test, test: reference))
    #expect(abs(back - 25) < 0.01, "\(back)")
    #expect(abs(try #require(BjontegaardDelta.rate(reference: reference, test: reference))) < 1e-9)
  }

  /// A hand-computed case: log-rate exactly linear in PSNR on both curves, test shifted so that
  /// ln R_test = ln R_ref − 0.1 + 0.01·(P − 30). Over the overlap [30, 40] the mean difference is
  /// −0.1 + 0.01·5 = −0.05, so BD-rate = e^−0.05 − 1 = −4.877%.
  @Test func handComputedLinearCase() throws {
    let psnrs = stride(from: 30.0, through: 40.0, by: 2.0).map { $0 }
    let reference = psnrs.map { p in RDPoint(bytes: Int(exp(4 + 0.1 * (p - 30)) * 1e4), psnr: p) }
    let test = psnrs.map { p in RDPoint(bytes: Int(exp(4 + 0.1 * (p - 30) - 0.1 + 0.01 * (p - 30)) * 1e4), psnr: p) }
    let rate = try #require(BjontegaardDelta.rate(reference: reference, test: test))
    #expect(abs(rate - (exp(-0.05) - 1) * 100) < 0.01, "\(rate)")
  }

  @Test func tooFewPointsOrNoOverlapGiveNil() {
    let a = [RDPoint(bytes: 10, psnr: 20), RDPoint(bytes: 20, psnr: 22), RDPoint(bytes: 30, psnr: 23)]
    #expect(BjontegaardDelta.rate(reference: a, test: a) == nil)
    let low = (1...5).map { RDPoint(bytes: $0 * 10, psnr: 20 + Double($0)) }
    let high = (1...5).map { RDPoint(bytes: $0 * 10, psnr: 40 + Double($0)) }
    #expect(BjontegaardDelta.rate(reference: low, test: high) == nil)
  }

  @Test func envelopeDropsDominatedPoints() {
    let points = [RDPoint(bytes: 10, psnr: 20), RDPoint(bytes: 12, psnr: 19), RDPoint(bytes: 15, psnr: 22),
                  RDPoint(bytes: 15, psnr: 21), RDPoint(bytes: 30, psnr: 25)]
    #expect(BjontegaardDelta.envelope(points).map(\.bytes) == [10, 15, 30])
    #expect(BjontegaardDelta.envelope(points).map(\.psnr) == [20, 22, 25])
  }

  @Test func mdatPayloadIsFound() {
    func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
      let size = UInt32(8 + payload.count)
      return [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)] + Array(type.utf8) + payload
    }
    let file = box("ftyp", Array("avif".utf8)) + box("meta", [1, 2, 3]) + box("mdat", [9, 8, 7, 6])
    #expect(ISOBMFF.payload(of: "mdat", in: file).map(Array.init) == [9, 8, 7, 6])
    #expect(ISOBMFF.payload(of: "moov", in: file) == nil)
    #expect(ISOBMFF.payload(of: "mdat", in: Array(file.dropLast())) == nil)  // truncated
  }

  @Test func plotIsWellFormedSVG() {
    let svg = SVGPlot.render([SVGPlot.Panel(title: "32×32 <test>", series: [
      SVGPlot.Series(label: "ours", points: curve(scale: 0.8)), SVGPlot.Series(label: "WebP & co", points: curve(scale: 1)),
    ])])
    #expect(svg.hasPrefix("<svg"))
    #expect(svg.hasSuffix("</svg>\n"))
    #expect(svg.contains("&lt;test&gt;") && svg.contains("WebP &amp; co"))
    #expect(svg.components(separatedBy: "<polyline").count == 3)
  }
}

/// The Kodak bench, run only on request: MISC_BENCH_DATASET=/path/to/kodak swift test --filter kodakBench.
@Suite struct ThumbnailBenchRun {
  @Test(.enabled(if: ProcessInfo.processInfo.environment["MISC_BENCH_DATASET"] != nil))
  func kodakBench() throws {
    let env = ProcessInfo.processInfo.environment
    let sizes = (env["MISC_BENCH_SIZES"] ?? "16,32,64").split(separator: ",").compactMap { Int($0) }
    let report = try ThumbnailBench.run(dataset: env["MISC_BENCH_DATASET"]!, sizes: sizes)
    let table = ThumbnailBench.table(report)
    print(table)
    if let out = env["MISC_BENCH_OUT"] {
      try table.write(toFile: out + ".txt", atomically: true, encoding: .utf8)
      try SVGPlot.render(report).write(toFile: out + ".svg", atomically: true, encoding: .utf8)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      try encoder.encode(report).write(to: URL(fileURLWithPath: out + ".json"))
    }
  }
}

/// `--references`: stored reference curves are taken as they are and their encoders are not run.
@Suite struct ThumbnailBenchReuse {
  @Test func storedReferenceCurvesAreReused() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("misc-bench-reuse-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var pixels: [UInt8] = []
    for i in 0..<40 * 30 {
      let x = i % 40, y = i / 40
      pixels += [UInt8(x * 6), UInt8(y * 8), UInt8((i * 7) % 256)]
    }
    try ImageIO.writePNG(Image(width: 40, height: 30, pixels: pixels), to: directory.appendingPathComponent("a.png").path)
    // Curves no encoder would produce: if the bench ran cwebp, they would not survive.
    let stored = [(11, 21.5), (18, 24.0), (27, 27.0), (40, 30.25)].map { RDPoint(bytes: $0.0, psnr: $0.1, setting: "stored") }
    let previous = ThumbnailBench.Report(dataset: directory.path, sizes: [
      ThumbnailBench.SizeReport(size: 16, targets: [], summaries: [], images: [
        ThumbnailBench.ImageCurves(name: "a", curves: ["webp": stored], bdRates: [:]),
      ], oursMillisecondsPerCall: 0),
    ])
    let report = try ThumbnailBench.run(dataset: directory.path, sizes: [16], codecs: [.webp], reusing: previous)
    let curves = try #require(report.sizes.first?.images.first?.curves)
    #expect(curves["webp"] == stored)
    #expect(curves[ThumbnailBench.ours]?.count == 64)
    #expect(report.sizes[0].images[0].bdRates["webp"] != nil)
  }
}
