import Foundation
import MISCImage
import Testing

/// `misc score` as a user runs it: pairs by file name, per-image errors that do not stop the run.
@Suite struct ScoreCLITests {
  static let data = ProcessInfo.processInfo.environment["MISC_DATA"] ?? CLI.root.appendingPathComponent("../shared/data").standardized.path

  /// A copy of `image` with every sample quantised to steps of 16.
  static func quantized(_ image: Image) -> Image {
    var out = image
    for i in out.pixels.indices { out.pixels[i] = out.pixels[i] / 16 * 16 + 8 }
    return out
  }

  static func crop(_ image: Image, width: Int, height: Int) -> Image {
    var pixels: [UInt8] = []
    for y in 0..<height { for x in 0..<width { for c in 0..<3 { pixels.append(image[x, y, c]) } } }
    return Image(width: width, height: height, pixels: pixels)
  }

  @Test func directoriesPairByNameAndABadPairDoesNotStopTheRun() throws {
    let root = try CLI.temporaryDirectory()
    let refs = root.appendingPathComponent("ref"), dists = root.appendingPathComponent("dist")
    try FileManager.default.createDirectory(at: refs, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: dists, withIntermediateDirectories: true)
    let photo = try ImageIO.read(path: CLI.example).image
    let small = Self.crop(photo, width: 200, height: 180)
    try ImageIO.writePNG(photo, to: refs.appendingPathComponent("a.png").path)
    try ImageIO.writePNG(Self.quantized(photo), to: dists.appendingPathComponent("a.png").path)
    try ImageIO.writePNG(photo, to: refs.appendingPathComponent("b.png").path)
    try ImageIO.writePNG(small, to: dists.appendingPathComponent("b.png").path)
    try ImageIO.writePNG(small, to: refs.appendingPathComponent("c.png").path)
    try Data("not an image".utf8).write(to: dists.appendingPathComponent("c.png"))

    let result = try CLI.run(["score", refs.path, dists.path, "--metrics", "psnr,msssim", "--json"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("b.png") && result.stderr.contains("differ in size") && result.stderr.contains("200x180"))
    #expect(result.stderr.contains("c.png") && result.stderr.contains("not a PNG or JPEG"))
    let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let images = try #require(report["images"] as? [[String: Any]])
    #expect(images.count == 3)
    let scores = try #require(images.first?["scores"] as? [String: Double])
    let expected = PSNRTestValue.psnr(photo, Self.quantized(photo))
    #expect(abs((scores["psnr"] ?? 0) - expected) < 1e-9)
    let mean = try #require(report["mean"] as? [String: Double])
    #expect(mean["psnr"] == scores["psnr"])
    #expect(report["failed"] as? Int == 2)
    let metrics = try #require(report["metrics"] as? [[String: Any]])
    #expect(metrics.map { $0["model"] as? String } == ["none", "none"])
  }

  @Test func tooSmallForMSSSIMSaysTheMinimum() throws {
    let root = try CLI.temporaryDirectory()
    let photo = Self.crop(try ImageIO.read(path: CLI.example).image, width: 150, height: 170)
    let a = root.appendingPathComponent("a.png").path, b = root.appendingPathComponent("b.png").path
    try ImageIO.writePNG(photo, to: a)
    try ImageIO.writePNG(Self.quantized(photo), to: b)
    let result = try CLI.run(["score", a, b, "--metrics", "ssim,msssim"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("MS-SSIM needs at least 161x161 pixels; the image is 150x170"))
    #expect(result.stdout.contains("SSIM"))
  }

  @Test func unknownMetricIsRefusedBeforeAnyWork() throws {
    let result = try CLI.run(["score", CLI.example, CLI.example, "--metrics", "psnr,sharpness"])
    #expect(result.status != 0)
    #expect(result.stderr.contains("unknown metric 'sharpness'"))
  }

  @Test func niqeScoresOneImageAndNamesItsModel() throws {
    let result = try CLI.run(["score", CLI.example, "--metrics", "niqe", "--json"], adding: ["MISC_DATA": Self.data])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("niqe-matlab-pristine"))
    let missing = try CLI.run(["score", CLI.example, "--metrics", "niqe"], removing: ["MISC_DATA", "MISC_METRIC_MODELS"])
    #expect(missing.status != 0)
    #expect(missing.stderr.contains("niqe_pris_params.json"))
  }

  @Test func fullReferenceMetricWithoutAReferenceIsRefused() throws {
    let result = try CLI.run(["score", CLI.example, "--metrics", "psnr"])
    #expect(result.status != 0)
    #expect(result.stderr.contains("psnr compares two images"))
  }
}

/// PSNR computed here, independently of MISCMetrics: 10·log10(255² / MSE) over all samples.
enum PSNRTestValue {
  static func psnr(_ a: Image, _ b: Image) -> Double {
    var sum = 0.0
    for i in a.pixels.indices { let d = Double(a.pixels[i]) - Double(b.pixels[i]); sum += d * d }
    return 10 * log10(255 * 255 / (sum / Double(a.pixels.count)))
  }
}
