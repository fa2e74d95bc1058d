import Foundation

/// A benchmark failure: what failed and why, in one line.
public struct BenchError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Finds, installs and runs the reference encoders' command-line tools.
public enum ExternalTool {
  /// The Debian package that provides each tool.
  public static let packages: [String: String] = [
    "cwebp": "webp", "dwebp": "webp", "avifenc": "libavif-bin", "avifdec": "libavif-bin",
    "cjxl": "libjxl-tools", "djxl": "libjxl-tools", "cjpeg": "libjpeg-turbo-progs", "djpeg": "libjpeg-turbo-progs",
    "heif-enc": "libheif-examples", "heif-convert": "libheif-examples",
  ]

  /// The full path of `name` on `PATH`, or nil.
  public static func find(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
      let candidate = "\(directory)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  /// Makes sure every tool is on `PATH`: installs the missing ones' Debian packages when running
  /// as root, otherwise throws an error naming the packages to install.
  public static func ensureInstalled(_ tools: [String], log: (String) -> Void = { _ in }) throws {
    let missing = tools.filter { find($0) == nil }
    guard !missing.isEmpty else { return }
    let needed = Array(Set(missing.map { packages[$0] ?? $0 })).sorted()
    guard getuid() == 0, let aptGet = find("apt-get") else {
      throw BenchError("missing \(missing.joined(separator: ", ")): install them with `sudo apt-get install -y \(needed.joined(separator: " "))`")
    }
    log("installing \(needed.joined(separator: " ")) with apt-get")
    try? run(aptGet, ["update", "-qq"])
    try run(aptGet, ["install", "-y", "-qq"] + needed)
    let still = tools.filter { find($0) == nil }
    guard still.isEmpty else { throw BenchError("apt-get did not provide \(still.joined(separator: ", "))") }
  }

  /// Runs `executable` with `arguments` (its standard output is discarded); throws with its
  /// standard error if it fails.
  public static func run(_ executable: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : (find(executable) ?? executable))
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { throw BenchError("cannot run \(executable): \(error)") }
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      let message = String(decoding: errorData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      throw BenchError("\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(message)")
    }
  }

  /// Runs `executable` and returns its standard output and standard error together, whatever
  /// its exit status (for version banners, which some tools print on stderr or with `--help`).
  public static func output(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : (find(executable) ?? executable))
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { throw BenchError("cannot run \(executable): \(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }

  /// Runs a command line through `/bin/sh -c` (an external codec's template); throws with its
  /// standard error if it fails.
  public static func shell(_ command: String) throws {
    do {
      try run("/bin/sh", ["-c", command])
    } catch let error as BenchError {
      throw BenchError(error.description.replacingOccurrences(of: "/bin/sh -c ", with: ""))
    }
  }

  /// A fresh temporary directory; the caller removes it.
  public static func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("misc-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}
