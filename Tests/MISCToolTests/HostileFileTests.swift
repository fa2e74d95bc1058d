import Foundation
import MISCCoding
import MISCImage
import Testing

/// Small valid files that try to do harm: escapes for the terminal, bombs for memory.
@Suite struct HostileFileTests {
  /// A valid file declaring `width`x`height`, with a thumbnail of long side `longSide` and
  /// three items that each have a map.
  static func file(width: Int, height: Int, longSide: Int = 64, overview: String = "a field",
                   names: [String] = ["tree", "dog", "sky"]) throws -> [UInt8] {
    let size = Container.thumbnailSize(imageWidth: width, imageHeight: height, longSide: longSide)
    var rgb = [UInt8](repeating: 0, count: size.width * size.height * 3)
    for i in rgb.indices { rgb[i] = UInt8((i * 7) % 251) }
    let items = names.enumerated().map { index, name in
      Container.Item(name: name, detail: "a \(name) in the middle", map: BinaryMap(
        width: 8, height: 8, cells: (0..<64).map { ($0 + index) % 3 == 0 }))
    }
    let contents = Container.Contents(width: width, height: height, level: 0, overview: overview, items: items,
                                      thumbnail: Container.Thumbnail(width: size.width, height: size.height, rgb: rgb))
    return try Container.encode(contents, thumbnailQuality: 20).bytes
  }

  @Test func inspectAndDecodeEscapeTerminalControls() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let misc = dir.appendingPathComponent("evil.misc").path
    try Data(try Self.file(width: 64, height: 64, overview: "\u{1B}]0;pwned\u{07}\u{1B}[2J\u{1B}[31mred\u{9B}31m",
                           names: ["a\u{1B}[2Jb", "c\u{7F}d", "e\nf"])).write(to: URL(fileURLWithPath: misc))
    for arguments in [["inspect", misc], ["decode", misc, "-o", dir.appendingPathComponent("x.png").path, "--item-steps", "1"]] {
      let result = try CLI.run(arguments)
      #expect(result.status == 0, "\(result.stderr)")
      for text in [result.stdout, result.stderr] {
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || (0x7F...0x9F).contains($0.value) }, "\(text.debugDescription)")
      }
      if arguments[0] == "inspect" {
        #expect(result.stdout.contains(#"\e]0;pwned\x07\e[2J\e[31mred\u009b31m"#), "\(result.stdout)")
        #expect(result.stdout.contains(#"e\nf"#))
      }
    }
    let json = try CLI.run(["inspect", misc, "--json"])
    #expect(json.status == 0)
    #expect(!json.stdout.unicodeScalars.contains { (0x7F...0x9F).contains($0.value) || $0 == "\u{1B}" })
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect((object["semantics"] as? [String: Any])?["overview"] as? String == "\u{1B}]0;pwned\u{07}\u{1B}[2J\u{1B}[31mred\u{9B}31m")
  }

  @Test func decompressionBombIsRefusedUnlessTheBoundIsLowered() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let bomb = dir.appendingPathComponent("bomb.misc").path
    // 96 megapixels in a few dozen bytes: far below 0.0001 bpp.
    let bytes = try Self.file(width: 15584, height: 6144, longSide: 1, names: [])
    #expect(bytes.count < 100)
    try Data(bytes).write(to: URL(fileURLWithPath: bomb))
    let refused = try CLI.run(["decode", bomb, "-o", dir.appendingPathComponent("x.png").path])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("15584x6144") && refused.stderr.contains("decompression bomb") && refused.stderr.contains("--min-bpp"), "\(refused.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.png").path))
    let good = dir.appendingPathComponent("good.misc").path
    try Data(try Self.file(width: 64, height: 64)).write(to: URL(fileURLWithPath: good))
    let inspect = try CLI.run(["inspect", bomb, good])
    #expect(inspect.status == 1 && inspect.stderr.contains("decompression bomb"))
    #expect(inspect.stdout.contains("\(good): .misc v\(Container.version), 64x64"), "the next file is still inspected: \(inspect.stdout)")
    let lowered = try CLI.run(["inspect", bomb, "--min-bpp", "0"])
    #expect(lowered.status == 0 && lowered.stdout.contains("15584x6144"), "\(lowered.stderr)")
    let limited = try CLI.run(["inspect", bomb, "--min-bpp", "0", "--max-pixels", "1000000"])
    #expect(limited.status == 1 && limited.stderr.contains("above the limit of 1000000 pixels"), "\(limited.stderr)")
  }

  /// 65535x65535 with every limit lifted needs about 56 GiB: a clean error before allocating,
  /// never "Fatal error: failed to allocate". (Runs where less than that is available.)
  @Test(.enabled(if: (AvailableMemory.bytes() ?? .max) < 50 << 30))
  func aDecodeThatCannotFitIsACleanError() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let bomb = dir.appendingPathComponent("huge.misc").path
    try Data(try Self.file(width: 65535, height: 65535, longSide: 1, names: [])).write(to: URL(fileURLWithPath: bomb))
    let result = try CLI.run(["decode", bomb, "-o", dir.appendingPathComponent("x.png").path, "--min-bpp", "0", "--max-pixels", "5000000000"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("65535x65535") && result.stderr.contains("MiB available") && !result.stderr.contains("Fatal"), "\(result.stderr)")
  }

  /// A 20-megapixel decode with three item masks, in a child process whose peak RSS the
  /// kernel reports (wait4): under 12 bytes per output pixel.
  @Test func decodePeakMemoryPerPixel() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let misc = dir.appendingPathComponent("big.misc").path
    let (width, height) = (5000, 4000)
    try Data(try Self.file(width: width, height: height, longSide: 256)).write(to: URL(fileURLWithPath: misc))
    let arguments = [CLI.executable.path, "decode", misc, "-o", dir.appendingPathComponent("big.png").path, "-q", "--min-bpp", "0"]
    let peak = try peakResidentBytes(arguments)
    let perPixel = Double(peak) / Double(width * height)
    #expect(try ImageIO.read(path: dir.appendingPathComponent("big.png").path, maxPixels: 30_000_000).image.width == width)
    #expect(perPixel < 12, "peak RSS \(peak >> 20) MiB, \(perPixel) bytes a pixel")
    print("decode peak RSS: \(peak >> 20) MiB for \(width)x\(height), \(String(format: "%.2f", perPixel)) bytes a pixel")
  }

  /// Runs `arguments` and returns the child's peak resident set, from wait4(2).
  ///
  /// The decode is a grandchild, forked by a small Python process: glibc's posix_spawn shares the
  /// test runner's memory until exec, and Linux then counts the runner's own high-water mark in
  /// the child's ru_maxrss (hundreds of MiB while other suites run). A fork from a small parent
  /// carries at most that parent's few MiB.
  func peakResidentBytes(_ arguments: [String]) throws -> Int {
    let script = """
      import os, sys
      pid = os.fork()
      if pid == 0:
          null = os.open(os.devnull, os.O_WRONLY)
          os.dup2(null, 1)
          os.execv(sys.argv[1], sys.argv[1:])
      _, status, usage = os.wait4(pid, 0)
      print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let fields = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
    try #require(process.terminationStatus == 0 && fields.count == 2, "python3 could not run the decode: \(String(decoding: data, as: UTF8.self))")
    try #require(fields[0] == 0, "the decode exited with status \(fields[0])")
    return fields[1] * 1024  // Linux reports kilobytes
  }
}

/// What a user wrote in a semantics file is warned about, or refused under --strict.
@Suite struct SemanticsWarningTests {
  @Test func warningsAndStrict() throws {
    let dir = try CLI.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let semantics = dir.appendingPathComponent("s.json")
    try Data(#"{"overveiw": "x", "items": [{"name": "astronaut", "detail": "smiling woman", "box": [0.2, 0.1, 0.8, 0.9]}]}"#.utf8).write(to: semantics)
    let misc = dir.appendingPathComponent("a.misc").path
    let warned = try CLI.run(["encode", CLI.example, "--semantics", semantics.path, "--level", "3", "-o", misc])
    #expect(warned.status == 0, "\(warned.stderr)")
    #expect(warned.stderr.contains("warning:") && warned.stderr.contains("\"overveiw\"") && warned.stderr.contains("did you mean \"overview\""), "\(warned.stderr)")
    #expect(warned.stderr.contains("level 3 keeps no items"))
    let strict = try CLI.run(["encode", CLI.example, "--semantics", semantics.path, "-o", misc, "-f", "--strict"])
    #expect(strict.status == 1 && strict.stderr.contains("--strict") && strict.stderr.contains("overveiw"), "\(strict.stderr)")

    let folder = dir.appendingPathComponent("folder").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let missing = try CLI.run(["encode", CLI.example, "--semantics", folder, "-o", misc, "-f"])
    #expect(missing.status == 0 && missing.stderr.contains("no astronaut.json in the semantics folder"), "\(missing.stderr)")

    try Data("{\n  \"overview\": \"a\",\n  oops\n}".utf8).write(to: semantics)
    let broken = try CLI.run(["encode", CLI.example, "--semantics", semantics.path, "-o", misc, "-f"])
    #expect(broken.status == 1 && broken.stderr.contains("line 3, column 3"), "\(broken.stderr)")
  }
}
