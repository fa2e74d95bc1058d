import Foundation
import Testing

/// `misc describe`, the LMM options of `misc encode`, and concurrent batches (`--jobs`).
@Suite struct DescribeCLITests {
  /// Runs `misc` with the LMM variables removed from the environment, plus `extra`.
  static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> CLI.Result {
    try CLI.run(arguments, removing: ["MISC_LMM_URL", "MISC_LMM_MODEL", "MISC_LMM_API_KEY", "OPENAI_API_KEY"], adding: extra)
  }

  /// Nothing listens on port 1 of the loopback: connections are refused at once.
  static let refusedURL = "http://127.0.0.1:1/v1"
  static let key = "sk-cli-secret-987654321"

  @Test func describeWithoutAModelIsAUsageError() throws {
    let result = try Self.run(["describe", CLI.example])
    #expect(result.status == 64)
    #expect(result.stderr.contains("--lmm-model") && result.stderr.contains("MISC_LMM_MODEL"), "\(result.stderr)")
    let url = try Self.run(["encode", CLI.example, "--lmm-url", "http://localhost:11434/v1"])
    #expect(url.status == 64 && url.stderr.contains("need a model"), "\(url.stderr)")
  }

  @Test func encodeWithoutLMMSaysHowToConfigureOne() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let result = try Self.run(["encode", CLI.example, "-o", dir.appendingPathComponent("a.misc").path])
    #expect(result.status == 0)
    #expect(result.stderr.contains("no LMM configured") && result.stderr.contains("--lmm-model") && result.stderr.contains("MISC_LMM_MODEL"))
  }

  @Test func unreachableLMMFailsEachImageWithoutLeakingTheKey() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let second = dir.appendingPathComponent("second.png").path
    try FileManager.default.copyItem(atPath: CLI.example, toPath: second)
    let environment = ["MISC_LMM_MODEL": "test-vision", "MISC_LMM_URL": Self.refusedURL, "MISC_LMM_API_KEY": Self.key]

    let describe = try Self.run(["describe", CLI.example, "--lmm-attempts", "1", "--no-cache"], environment: environment)
    #expect(describe.status == 1)
    #expect(describe.stderr.contains("cannot reach the LMM at http://127.0.0.1:1/v1/chat/completions"), "\(describe.stderr)")
    #expect(!describe.stderr.contains(Self.key) && !describe.stdout.contains(Self.key))

    let out = dir.appendingPathComponent("out").path
    let encode = try Self.run(["encode", CLI.example, second, "--out-dir", out, "--jobs", "2", "--lmm-attempts", "2", "--no-cache"],
                              environment: environment)
    #expect(encode.status == 1)
    #expect(encode.stderr.contains("0 of 2 files done; 2 failed"), "\(encode.stderr)")
    #expect(!encode.stderr.contains(Self.key))
    #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty, "no outputs, no partial files")
  }

  @Test func semanticsFileWinsOverTheLMM() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let misc = dir.appendingPathComponent("a.misc").path
    // The LMM would be unreachable; --semantics means it is never asked.
    let result = try Self.run(["encode", CLI.example, "--semantics", CLI.exampleSemantics, "-o", misc],
                              environment: ["MISC_LMM_MODEL": "test-vision", "MISC_LMM_URL": Self.refusedURL])
    #expect(result.status == 0, "\(result.stderr)")
  }

  @Test func concurrentBatchWritesEveryOutput() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var inputs: [String] = []
    for index in 0..<6 {
      let path = dir.appendingPathComponent("img\(index).png").path
      try FileManager.default.copyItem(atPath: CLI.example, toPath: path)
      inputs.append(path)
    }
    let broken = dir.appendingPathComponent("broken.png")
    try Data("not an image".utf8).write(to: broken)
    inputs.insert(broken.path, at: 3)
    let out = dir.appendingPathComponent("out").path
    let result = try Self.run(["encode"] + inputs + ["--out-dir", out, "--jobs", "3", "--semantics", CLI.exampleSemantics, "--bpp", "0.01"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("6 of 7 files done; 1 failed: \(broken.path)"), "\(result.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == (0..<6).map { "img\($0).misc" })
    #expect(result.stdout.components(separatedBy: " -> ").count == 7)
  }

  @Test func badLMMFlagsAreUsageErrors() throws {
    for (arguments, mention) in [
      (["describe", "x.png", "--lmm-model", "m", "--jobs", "0"], "--jobs"),
      (["describe", "x.png", "--lmm-model", "m", "--timeout", "-1"], "--timeout"),
      (["describe", "x.png", "--lmm-model", "m", "--lmm-url", "localhost:11434"], "--lmm-url"),
      (["describe", "x.png", "--lmm-model", "m", "--level", "4"], "--level"),
    ] {
      let result = try Self.run(arguments)
      #expect(result.status == 64, "\(arguments)")
      #expect(result.stderr.contains(mention), "\(result.stderr)")
    }
  }
}
