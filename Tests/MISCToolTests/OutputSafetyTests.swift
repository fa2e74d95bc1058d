import Foundation
import MISCCoding
import MISCImage
import Testing

/// No output ever replaces a user's file unasked, an input, a FIFO or a symlink.
@Suite struct OutputSafetyTests {
  let dir: URL
  init() throws { dir = try CLI.temporaryDirectory() }

  func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

  func copyExample(to name: String) throws -> String {
    let target = path(name)
    try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: target).deletingLastPathComponent().path, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: CLI.example, toPath: target)
    return target
  }

  @Test func outputThatIsTheInputIsRefusedBeforeAnyWork() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let photo = try copyExample(to: "same.png")
    let original = try readFileBytes(photo)
    try FileManager.default.createSymbolicLink(atPath: path("alias.png"), withDestinationPath: photo)
    for output in [photo, path("alias.png")] {
      let result = try CLI.run(["encode", photo, "-o", output, "-f"])
      #expect(result.status == 1)
      #expect(result.stderr.contains("is the input") && result.stderr.contains(output), "\(result.stderr)")
      #expect(try readFileBytes(photo) == original)
    }
  }

  @Test func existingOutputNeedsForceOrIsSkipped() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let photo = try copyExample(to: "photo.png")
    let misc = path("photo.misc")
    try Data("keep me".utf8).write(to: URL(fileURLWithPath: misc))

    let refused = try CLI.run(["encode", photo])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains(misc) && refused.stderr.contains("-f/--force"), "\(refused.stderr)")
    #expect(try String(contentsOfFile: misc, encoding: .utf8) == "keep me")

    let skipped = try CLI.run(["encode", photo, CLI.example, "--out-dir", dir.path, "--skip-existing"])
    #expect(skipped.status == 0, "\(skipped.stderr)")
    #expect(skipped.stderr.contains("2 of 2 files done (1 skipped"), "\(skipped.stderr)")
    #expect(try String(contentsOfFile: misc, encoding: .utf8) == "keep me")
    #expect(FileManager.default.fileExists(atPath: path("astronaut.misc")))

    let forced = try CLI.run(["encode", photo, "-f"])
    #expect(forced.status == 0, "\(forced.stderr)")
    #expect(try readFileBytes(misc).first.map { $0 & 0xF8 } == 0xB0)
  }

  @Test func decodeNeverOverwritesTheOriginalPhoto() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let photo = try copyExample(to: "photo.png")
    let original = try readFileBytes(photo)
    #expect(try CLI.run(["encode", photo]).status == 0)
    let result = try CLI.run(["decode", path("photo.misc"), "--out-dir", dir.path])
    #expect(result.status == 1 && result.stderr.contains("photo.png exists"), "\(result.stderr)")
    #expect(try readFileBytes(photo) == original)
  }

  @Test func collidingOutputsAreListedBeforeAnyWorkOrMirrored() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let a = try copyExample(to: "a/x.png"), b = try copyExample(to: "b/x.png")
    let out = path("out")
    let collide = try CLI.run(["encode", a, b, "--out-dir", out])
    #expect(collide.status == 1)
    #expect(collide.stderr.contains("2 inputs would write") && collide.stderr.contains(a) && collide.stderr.contains(b), "\(collide.stderr)")
    #expect(collide.stderr.contains("--keep-tree"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty, "nothing was encoded")

    let mirrored = try CLI.run(["encode", a, b, "--out-dir", out, "--keep-tree"])
    #expect(mirrored.status == 0, "\(mirrored.stderr)")
    #expect(FileManager.default.fileExists(atPath: out + "/a/x.misc") && FileManager.default.fileExists(atPath: out + "/b/x.misc"))
  }

  @Test func aFIFOIsWrittenThroughNotReplaced() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let fifo = path("pipe.misc")
    #expect(mkfifo(fifo, 0o600) == 0)
    let reader = Process()
    reader.executableURL = URL(fileURLWithPath: "/bin/cat")
    reader.arguments = [fifo]
    let pipe = Pipe()
    reader.standardOutput = pipe
    try reader.run()
    let result = try CLI.run(["encode", CLI.example, "-o", fifo])
    let received = pipe.fileHandleForReading.readDataToEndOfFile()
    reader.waitUntilExit()
    #expect(result.status == 0, "\(result.stderr)")
    #expect(received.count > 100 && received.first.map { $0 & 0xF8 } == 0xB0)
    var info = stat()
    #expect(stat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO, "the FIFO is still a FIFO")
  }

  @Test func aSymlinkIsFollowed() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let target = path("target.png"), link = path("link.png")
    try Data("old".utf8).write(to: URL(fileURLWithPath: target))
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.png")
    #expect(try CLI.run(["encode", CLI.example, "-o", path("a.misc")]).status == 0)
    let result = try CLI.run(["decode", path("a.misc"), "-o", link, "-f"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "target.png", "the link stays a link")
    #expect(try ImageIO.read(path: target).image.width == 512)
  }

  @Test func dashIsStandardInputAndOutput() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let png = try Data(contentsOf: URL(fileURLWithPath: CLI.example))
    let encoded = try CLI.run(["encode", "-", "-o", "-"], stdin: png)
    #expect(encoded.status == 0, "\(encoded.stderr)")
    #expect(encoded.stdout.utf8.count > 100 && !encoded.stdout.contains("thumbnail"), "stdout carries the file only")
    let file = path("s.misc")
    let again = try CLI.run(["encode", "-", "-o", file, "--json"], stdin: png)
    #expect(again.status == 0 && again.stdout.contains("\"output\":\"\(file)\""), "\(again.stdout)")
    let decoded = try CLI.run(["decode", "-", "-o", path("s.png")], stdin: try Data(contentsOf: URL(fileURLWithPath: file)))
    #expect(decoded.status == 0, "\(decoded.stderr)")
    #expect(try ImageIO.read(path: path("s.png")).image.height == 512)
    #expect(encoded.stderr.contains("-> -"), "the report goes to stderr when stdout carries the file")
  }

  @Test func unknownDecodeExtensionIsAnErrorAndJPEGWorks() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(try CLI.run(["encode", CLI.example, "-o", path("a.misc")]).status == 0)
    let bad = try CLI.run(["decode", path("a.misc"), "-o", path("a.webp")])
    #expect(bad.status == 64 && bad.stderr.contains("a.webp"), "\(bad.stderr)")
    let jpeg = try CLI.run(["decode", path("a.misc"), "-o", path("a.jpg"), "--jpeg-quality", "80"])
    #expect(jpeg.status == 0, "\(jpeg.stderr)")
    #expect(try readFileBytes(path("a.jpg")).prefix(2) == [0xFF, 0xD8])
  }
}

@Suite struct ErrorMessageTests {
  @Test func fileSystemErrorsAreNotRawFoundationErrors() throws {
    let result = try CLI.run(["encode", CLI.example, "--out-dir", "/proc/misc-no-such-folder/out"])
    #expect(result.status != 0)
    #expect(result.stderr.contains("/proc/misc-no-such-folder") && result.stderr.contains("No such file or directory"), "\(result.stderr)")
    #expect(!result.stderr.contains("NSCocoaErrorDomain") && !result.stderr.contains("Error Domain"), "\(result.stderr)")
  }
}

@Suite struct VersionTests {
  @Test func versionNamesTheFormatsWrittenAndRead() throws {
    let result = try CLI.run(["--version"])
    #expect(result.status == 0)
    #expect(result.stdout.contains("writes .misc format v\(Container.version)") && result.stdout.contains("reads v2...v\(Container.version)"), "\(result.stdout)")
  }
}

@Suite struct BatchHabitTests {
  @Test func shardsTotalsJobsAndJSON() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var inputs: [String] = []
    for name in ["a", "b", "c"] {
      let path = dir.appendingPathComponent("\(name).png").path
      try FileManager.default.copyItem(atPath: CLI.example, toPath: path)
      inputs.append(path)
    }
    let out = dir.appendingPathComponent("out").path
    let second = try CLI.run(["encode"] + inputs + ["--out-dir", out, "--shard", "2/2", "--bpp", "0.01"])
    #expect(second.status == 0, "\(second.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: out) == ["b.misc"])
    let first = try CLI.run(["encode"] + inputs + ["--out-dir", out, "--shard", "1/2", "--bpp", "0.01", "--jobs", "2"])
    #expect(first.status == 0)
    #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["a.misc", "b.misc", "c.misc"])
    #expect(first.stderr.contains("totals: 2 files") && first.stderr.contains("bpp") && first.stderr.contains("I_ref PSNR"), "\(first.stderr)")
    #expect(try CLI.run(["encode", inputs[0], "--shard", "3/2"]).status == 64)

    let miscs = ["a", "b", "c"].map { out + "/\($0).misc" }
    let decoded = try CLI.run(["decode"] + miscs + ["--out-dir", out, "--jobs", "3", "--json", "-q"])
    #expect(decoded.status == 0, "\(decoded.stderr)")
    let records = decoded.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    #expect(records.count == 3 && records.allSatisfy { $0["width"] as? Int == 512 })
    #expect(decoded.stderr.isEmpty, "-q leaves nothing but errors: \(decoded.stderr)")
  }
}

@Suite struct ProgressLineTests {
  /// On a terminal (a pty from script(1)), the progress line is cleared before each report
  /// line, so the two never run together ("…x.pngx.png -> …").
  @Test func progressIsClearedBeforeEachReportLine() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let inputs = try ["a", "b", "c"].map { name -> String in
      let path = dir.appendingPathComponent("\(name).png").path
      try FileManager.default.copyItem(atPath: CLI.example, toPath: path)
      return path
    }
    let script = "/usr/bin/script"
    try #require(FileManager.default.isExecutableFile(atPath: script), "script(1) (util-linux) runs misc on a terminal")
    let command = ([CLI.executable.path, "encode"] + inputs + ["--out-dir", dir.appendingPathComponent("out").path, "--bpp", "0.01"])
      .map { "'\($0)'" }.joined(separator: " ")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: script)
    process.arguments = ["-qec", command, "/dev/null"]
    process.standardInput = FileHandle.nullDevice
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let transcript = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(transcript)")
    let segments = transcript.components(separatedBy: "\r\u{1B}[2K")
    let progress = segments.filter { $0.hasPrefix("[") && $0.contains("] encoding ") }
    #expect(progress.count == 3, "\(transcript.debugDescription)")
    for segment in progress {
      #expect(!segment.contains("->") && !segment.contains("\n"), "a report line ran into the progress line: \(segment.debugDescription)")
    }
    #expect(transcript.contains("totals: 3 files"))
  }
}
