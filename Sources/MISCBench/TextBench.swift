import Foundation
import MISCCoding

/// Bits per word of the text coder against general-purpose compressors, one text per line:
/// each text is coded as a standalone stream, and every size is the length of real output bytes.
public enum TextBench {
  /// One compared method.
  public enum Method: String, CaseIterable, Codable, Sendable {
    case misc, brotli, zstd, deflate, raw

    /// How the method runs.
    public var label: String {
      switch self {
      case .misc: return "MISC TextCoder (static model + range coder)"
      case .brotli: return "brotli -q 11 (CLI)"
      case .zstd: return "zstd -19 (CLI)"
      case .deflate: return "deflate -9 (gzip -9 -n CLI, minus its 18-byte gzip header and trailer)"
      case .raw: return "raw UTF-8"
      }
    }
  }

  /// The sizes of one text.
  public struct Line: Codable, Sendable {
    public var words: Int
    /// Characters (extended grapheme clusters), for text without spaces.
    public var characters: Int
    public var utf8Bytes: Int
    /// Bits per method, keyed by `Method.rawValue`.
    public var bits: [String: Int]
    /// Bits per word per method (a text without words counts as one word).
    public var bitsPerWord: [String: Double]
  }

  /// Summary of one method over all texts.
  public struct Summary: Codable, Sendable {
    public var method: String
    public var label: String
    /// Mean over the texts of each text's bits per word.
    public var meanBitsPerWord: Double
    /// Total bits over total words.
    public var pooledBitsPerWord: Double
    /// Total bits over total characters.
    public var pooledBitsPerCharacter: Double
    public var totalBits: Int
  }

  public struct Report: Codable, Sendable {
    /// The format version whose text coder ran.
    public var formatVersion: Int
    public var texts: Int
    public var words: Int
    public var characters: Int
    public var lines: [Line]
    public var summaries: [Summary]
    /// The text coder's total encode and decode times (seconds) and decode speed (UTF-8 KB/s).
    public var miscEncodeSeconds: Double
    public var miscDecodeSeconds: Double
    public var miscDecodeKBPerSecond: Double
    /// Identifier of the static text model used.
    public var modelIdentifier: String
  }

  /// Errors of the bench: a missing reference tool or a failing run.
  public struct Failure: Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  /// Whitespace-separated words.
  public static func wordCount(_ text: String) -> Int {
    text.split(whereSeparator: { $0.isWhitespace }).count
  }

  /// The bytes of `text` coded alone by the text coder of format `profile`.
  public static func miscBytes(_ text: String, profile: FormatProfile = .current) throws -> [UInt8] {
    var coder = try TextCoder(profile: profile)
    var encoder = RangeEncoder()
    coder.encode(text, to: &encoder)
    return encoder.finish()
  }

  /// Run every method on every text, the text coder as format `profile` codes it. `progress`
  /// receives (done, total).
  public static func run(texts: [String], profile: FormatProfile = .current,
                         progress: ((Int, Int) -> Void)? = nil) throws -> Report {
    for text in texts where text.utf8.count > TextCoder.maxBytes {
      throw Failure(description: "a text has \(text.utf8.count) UTF-8 bytes; the coder takes at most \(TextCoder.maxBytes)")
    }
    // Our coder, timed, with a decode check.
    let clock = ContinuousClock()
    var coded: [[UInt8]] = []
    let encodeTime = try clock.measure { coded = try texts.map { try miscBytes($0, profile: profile) } }
    var decoded: [String] = []
    let decodeTime = try clock.measure {
      decoded = try coded.map { bytes in
        var coder = try TextCoder(profile: profile)
        var decoder = RangeDecoder(bytes)
        return try coder.decode(from: &decoder)
      }
    }
    guard decoded == texts else { throw Failure(description: "the text coder did not round-trip a text") }

    var lines: [Line] = []
    for (index, text) in texts.enumerated() {
      let input = Array(text.utf8)
      var bits: [String: Int] = [:]
      bits[Method.misc.rawValue] = coded[index].count * 8
      bits[Method.brotli.rawValue] = try runTool("brotli", ["-q", "11", "-c"], input: input).count * 8
      bits[Method.zstd.rawValue] = try runTool("zstd", ["-19", "-c", "-q"], input: input).count * 8
      bits[Method.deflate.rawValue] = max(try runTool("gzip", ["-9", "-n", "-c"], input: input).count - 18, 0) * 8
      bits[Method.raw.rawValue] = input.count * 8
      let words = wordCount(text)
      let perWord = bits.mapValues { Double($0) / Double(max(words, 1)) }
      lines.append(Line(words: words, characters: text.count, utf8Bytes: input.count, bits: bits, bitsPerWord: perWord))
      progress?(index + 1, texts.count)
    }
    let totalWords = lines.reduce(0) { $0 + $1.words }
    let totalCharacters = lines.reduce(0) { $0 + $1.characters }
    let summaries = Method.allCases.map { method -> Summary in
      let total = lines.reduce(0) { $0 + ($1.bits[method.rawValue] ?? 0) }
      let mean = lines.reduce(0.0) { $0 + ($1.bitsPerWord[method.rawValue] ?? 0) } / Double(max(lines.count, 1))
      return Summary(method: method.rawValue, label: method.label, meanBitsPerWord: mean,
                     pooledBitsPerWord: Double(total) / Double(max(totalWords, 1)),
                     pooledBitsPerCharacter: Double(total) / Double(max(totalCharacters, 1)), totalBits: total)
    }
    let totalBytes = lines.reduce(0) { $0 + $1.utf8Bytes }
    let decodeSeconds = seconds(decodeTime)
    return Report(
      formatVersion: profile.version, texts: texts.count, words: totalWords, characters: totalCharacters,
      lines: lines, summaries: summaries,
      miscEncodeSeconds: seconds(encodeTime), miscDecodeSeconds: decodeSeconds,
      miscDecodeKBPerSecond: Double(totalBytes) / 1000 / max(decodeSeconds, 1e-9),
      modelIdentifier: (try? TextModel.shared.get()).map { String($0.identifier, radix: 16) } ?? "unavailable")
  }

  private static func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
  }

  /// Find an executable on PATH.
  static func locate(_ tool: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
      let candidate = "\(directory)/\(tool)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  /// Run a compressor CLI on `input` (stdin) and return its stdout.
  static func runTool(_ tool: String, _ arguments: [String], input: [UInt8]) throws -> [UInt8] {
    guard let executable = locate(tool) else {
      throw Failure(description: "\(tool) not found on PATH: install it (Debian: apt-get install \(tool))")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    // Inputs are at most a few KB, within a pipe's buffer, so writing before reading cannot block.
    let writer = stdin.fileHandleForWriting
    try writer.write(contentsOf: Data(input))
    try writer.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw Failure(description: "\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): "
        + String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return [UInt8](output)
  }
}
