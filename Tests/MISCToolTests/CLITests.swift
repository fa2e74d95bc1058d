import Foundation
import MISCCoding
import MISCImage
import Testing

/// Runs the built `misc` executable as a user would.
struct CLI {
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static let executable: URL = {
    let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [products, products.deletingLastPathComponent()] {
      let url = candidate.appendingPathComponent("misc")
      if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return root.appendingPathComponent(".build/debug/misc")
  }()

  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  static let example = root.appendingPathComponent("examples/astronaut.png").path
  static let exampleSemantics = root.appendingPathComponent("examples/astronaut.json").path

  /// Runs `misc` with `arguments`; `removing` names environment variables to drop, `adding` sets others.
  static func run(_ arguments: [String], removing: [String] = [], adding: [String: String] = [:], stdin: Data? = nil) throws -> Result {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if !removing.isEmpty || !adding.isEmpty {
      var environment = ProcessInfo.processInfo.environment
      for name in removing { environment[name] = nil }
      environment.merge(adding) { $1 }
      process.environment = environment
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    if let stdin {
      // Feeds standard input from another thread while this one drains the outputs.
      let writer = input.fileHandleForWriting
      Thread.detachNewThread {
        writer.write(stdin)
        try? writer.close()
      }
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                  stderr: String(decoding: stderr, as: UTF8.self))
  }

  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("misc-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}

@Suite struct CLITests {
  @Test func encodeInspectDecode() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let misc = dir.appendingPathComponent("a.misc").path
    let png = dir.appendingPathComponent("a.png").path
    let encode = try CLI.run(["encode", CLI.example, "--semantics", CLI.exampleSemantics, "-o", misc])
    #expect(encode.status == 0, "\(encode.stderr)")
    #expect(encode.stdout.contains("thumbnail") && encode.stdout.contains("framing") && encode.stdout.contains("bpp"))
    let size = try #require(try FileManager.default.attributesOfItem(atPath: misc)[.size] as? Int)
    #expect(size <= 512 * 512 * 225 / 80_000)  // MISC-1: 0.0225 bpp

    let inspect = try CLI.run(["inspect", misc, "--json"])
    #expect(inspect.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
    #expect(json["width"] as? Int == 512 && json["version"] as? Int == Container.version)
    #expect((json["report"] as? [String: Any])?["textBitsPerCharacter"] as? Double != nil, "\(inspect.stdout)")
    let text = try CLI.run(["inspect", misc])
    #expect(text.stdout.contains("astronaut") && text.stdout.contains("####"))
    #expect(text.stdout.contains("bits per word") && text.stdout.contains("bits per character"), "\(text.stdout)")

    let decode = try CLI.run(["decode", misc, "-o", png])
    #expect(decode.status == 0, "\(decode.stderr)")
    #expect(decode.stderr.contains("bicubic"))
    let image = try ImageIO.read(path: png).image
    #expect(image.width == 512 && image.height == 512)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a.misc", "a.png"], "no temporary files remain")
  }

  @Test func missingFileNamesThePath() throws {
    let result = try CLI.run(["encode", "/nonexistent/photo.png", "-o", "/tmp/never.misc"])
    #expect(result.status != 0)
    #expect(result.stderr.contains("/nonexistent/photo.png") && result.stderr.contains("No such file"))
    #expect(!FileManager.default.fileExists(atPath: "/tmp/never.misc"))
  }

  @Test func unreadableImageNamesTheFile() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let bogus = dir.appendingPathComponent("bogus.png")
    try Data("definitely not an image".utf8).write(to: bogus)
    let result = try CLI.run(["encode", bogus.path, "--out-dir", dir.path])
    #expect(result.status == 1)
    #expect(result.stderr.contains(bogus.path) && result.stderr.contains("unsupported image format"))
  }

  @Test(arguments: [
    (["encode", "x.png", "--level", "7"], "--level"),
    (["encode", "x.png", "--bpp", "5"], "--bpp"),
    (["encode", "x.png", "--level", "1", "--bpp", "0.02"], "not both"),
    (["encode", "a.png", "b.png", "-o", "c.misc"], "single input"),
    (["decode", "a.misc", "--seed", "-3"], "seed"),
    (["encode", "x.png", "--no-such-flag"], "no-such-flag"),
  ])
  func badFlagsAreUsageErrors(arguments: [String], mention: String) throws {
    let result = try CLI.run(arguments)
    #expect(result.status == 64, "\(arguments): status \(result.status)")
    #expect(result.stderr.contains(mention), "\(result.stderr)")
  }

  @Test func batchKeepsGoingPastABrokenFile() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let broken = dir.appendingPathComponent("broken.png")
    let png = try readFileBytes(CLI.example)
    try Data(png.prefix(5000)).write(to: broken)  // a truncated PNG
    let second = dir.appendingPathComponent("second.png").path
    try FileManager.default.copyItem(atPath: CLI.example, toPath: second)
    let out = dir.appendingPathComponent("out").path
    let result = try CLI.run(["encode", CLI.example, broken.path, second, "--out-dir", out, "--bpp", "0.01"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("broken.png") && result.stderr.contains("2 of 3 files done; 1 failed"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["astronaut.misc", "second.misc"])

    let decoded = try CLI.run(["decode", out + "/astronaut.misc", broken.path, "--out-dir", out])
    #expect(decoded.status == 1 && decoded.stderr.contains("not a .misc file"))
    #expect(FileManager.default.fileExists(atPath: out + "/astronaut.png"))
  }

  /// bench clip's --compare-torch refuses --clip-model and a missing script before timing anything.
  @Test func benchCLIPCompareTorchArgumentErrors() throws {
    let withModel = try CLI.run(["bench", "clip", "--compare-torch", "python3", "--clip-model", "/nonexistent/clip"])
    #expect(withModel.status != 0)
    #expect(withModel.stderr.contains("drop --clip-model"), "\(withModel.stderr)")
    let noScript = try CLI.run(["bench", "clip", "--compare-torch", "python3", "--torch-script", "/nonexistent/bench_torch.py", "--runs", "1"])
    #expect(noScript.status != 0)
    #expect(noScript.stderr.contains("/nonexistent/bench_torch.py"), "\(noScript.stderr)")
  }

  @Test func corruptFileIsReportedNotCrashed() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let misc = dir.appendingPathComponent("x.misc").path
    #expect(try CLI.run(["encode", CLI.example, "-o", misc]).status == 0)
    var bytes = try readFileBytes(misc)
    bytes[bytes.count / 2] ^= 0x10
    try Data(bytes).write(to: URL(fileURLWithPath: misc))
    for command in ["decode", "inspect"] {
      let result = try CLI.run([command, misc])
      #expect(result.status == 1)
      #expect(result.stderr.contains(misc) && result.stderr.contains("corrupt"), "\(result.stderr)")
    }
  }
}

/// The map encoder through the CLI, on the tiny random CLIP of the parity fixtures.
@Suite struct LocateCLITests {
  static let tinyCLIP = CLI.root.appendingPathComponent("Tests/MISCNeuralTests/Fixtures/tiny-clip").path

  @Test func locatePrintsGridsAndJSON() throws {
    let text = try CLI.run(["locate", CLI.example, "--items", "astronaut, helmet", "--clip-model", Self.tinyCLIP])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("astronaut") && text.stdout.contains("helmet"))
    let json = try CLI.run(["locate", CLI.example, "--items", "astronaut", "--grid", "10", "--clip-model", Self.tinyCLIP, "--json"])
    #expect(json.status == 0, "\(json.stderr)")
    #expect(json.stdout.contains("\"grid\"") || json.stdout.contains("\"map\""), "\(json.stdout.prefix(300))")
  }

  @Test func missingModelExplainsHowToConfigureOne() throws {
    let result = try CLI.run(["locate", CLI.example, "--items", "astronaut", "--clip-model", "/nonexistent/clip"])
    #expect(result.status != 0 && result.stderr.contains("/nonexistent/clip"))
  }

  /// Items without maps get one from the locator, and the file carries them.
  @Test func encodeLocatesItemsWithoutMaps() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let semantics = dir.appendingPathComponent("s.json")
    try Data(#"{"overview": "an astronaut", "items": [{"name": "astronaut", "detail": "smiling woman in orange suit"}]}"#.utf8).write(to: semantics)
    let misc = dir.appendingPathComponent("a.misc").path
    let encode = try CLI.run(["encode", CLI.example, "--semantics", semantics.path, "--clip-model", Self.tinyCLIP, "-o", misc])
    #expect(encode.status == 0, "\(encode.stderr)")
    let inspect = try CLI.run(["inspect", misc, "--json"])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
    let items = try #require((object["semantics"] as? [String: Any])?["items"] as? [[String: Any]])
    #expect((items.first?["map"] as? [String])?.count == 8)
  }
}
