import Foundation
import MISCImage
import Testing

/// `misc eval` as a user runs it: argument errors before any work, a small run end to end.
@Suite struct EvalCLITests {
  /// A folder with one small PNG, and an output folder beside it.
  func workspace() throws -> (images: String, out: String, root: URL) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("misc-eval-cli-\(UUID().uuidString)")
    let images = root.appendingPathComponent("images")
    try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
    var image = Image(width: 96, height: 64, fill: (90, 140, 60))
    for y in 0..<64 { for x in 0..<96 { image[x, y, 0] = UInt8((x * 2 + y) % 256) } }
    try ImageIO.writePNG(image, to: images.appendingPathComponent("one.png").path)
    return (images.path, root.appendingPathComponent("out").path, root)
  }

  @Test func badArgumentsFailBeforeAnyWork() throws {
    let (images, out, root) = try workspace()
    defer { try? FileManager.default.removeItem(at: root) }
    let noDir = try CLI.run(["eval", "--dataset", "x=/no/such/folder", "--out", out])
    #expect(noDir.status != 0 && noDir.stderr.contains("/no/such/folder"))
    let codec = try CLI.run(["eval", "--dataset", images, "--codec", "misc1,vvc", "--out", out])
    #expect(codec.status != 0 && codec.stderr.contains("unknown codec 'vvc'") && codec.stderr.contains("heic"))
    let external = try CLI.run(["eval", "--dataset", images, "--external", "x=cp {input} {bitstream}", "--out", out])
    #expect(external.status != 0 && external.stderr.contains("';'"))
    let metric = try CLI.run(["eval", "--dataset", images, "--codec", "misc1", "--metrics", "psnr,lpips",
                              "--metric-models", root.appendingPathComponent("no-weights").path, "--out", out],
                             removing: ["MISC_RESTORER_URL"])
    #expect(metric.status != 0 && metric.stderr.contains("LPIPS"), "\(metric.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out + "/records.jsonl"))
  }

  /// MISC-1 and a lossless external codec (`cp`) on one image: the table on stdout, the files written.
  @Test func smallRunWritesTheTableAndReport() throws {
    let (images, out, root) = try workspace()
    defer { try? FileManager.default.removeItem(at: root) }
    let result = try CLI.run(["eval", "--dataset", "small=" + images, "--codec", "misc1", "--metrics", "psnr",
                              "--external", "copy=cp {input} {bitstream};cp {bitstream} {output}", "--out", out],
                             removing: ["MISC_RESTORER_URL", "MISC_LMM_MODEL", "MISC_CLIP_MODEL"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("| MISC-1 | 0.0225 |") && result.stdout.contains("| copy | — |"))
    #expect(result.stdout.contains("**100.00**"))  // the lossless copy's PSNR, marked best
    for file in ["records.jsonl", "report.html", "small/table.md", "small/table.csv", "small/table.json", "small/psnr.svg"] {
      #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file)")
    }
    // A rerun resumes: nothing left to do, the same table.
    let again = try CLI.run(["eval", "--dataset", "small=" + images, "--codec", "misc1", "--metrics", "psnr",
                             "--external", "copy=cp {input} {bitstream};cp {bitstream} {output}", "--out", out],
                            removing: ["MISC_RESTORER_URL", "MISC_LMM_MODEL", "MISC_CLIP_MODEL"])
    #expect(again.status == 0 && again.stdout == result.stdout)
    let lines = try String(contentsOfFile: out + "/records.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 2)
  }
}
