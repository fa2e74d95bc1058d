import ArgumentParser
import Foundation
import MISCBench
import MISCCoding

/// `misc bench text`: bits per word of the text coder against brotli, zstd, deflate and raw UTF-8.
struct BenchText: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "text",
    abstract: "Bits per word of the text coder against brotli, zstd, deflate and raw UTF-8.",
    discussion: """
      Each line of the input is one text, coded as a standalone stream; every size is real output bytes. \
      The reference codecs run through their command-line tools (brotli, zstd, gzip).
      """
  )

  @Option(name: .long, help: "A UTF-8 file with one text per line (empty lines are skipped).")
  var input: String

  @Option(name: .long, help: "The format version whose text coder runs (2, 3 or 4; version 4 may code a string raw).")
  var formatVersion = Container.version

  @Flag(name: .long, help: "Write the full report (every line and the summary) as JSON to stdout.")
  var json = false

  func validate() throws {
    guard FileManager.default.isReadableFile(atPath: input) else {
      throw ValidationError("cannot read --input \(input)")
    }
    guard Container.readableVersions.contains(formatVersion) else {
      throw ValidationError("--format-version \(formatVersion): this build codes versions \(Container.readableVersions)")
    }
  }

  func run() async throws {
    guard let data = FileManager.default.contents(atPath: input) else {
      throw ValidationError("cannot read --input \(input)")
    }
    let texts = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
      .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
      .filter { !$0.isEmpty }
    let showProgress = isatty(STDERR_FILENO) != 0
    let profile = try FormatProfile.forVersion(formatVersion)
    let report = try TextBench.run(texts: texts, profile: profile) { done, total in
      if showProgress && (done % 50 == 0 || done == total) { Console.progress("bench text: \(done)/\(total)") }
    }
    if showProgress { Console.progress(nil) }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
      return
    }
    let methods = TextBench.Method.allCases.map(\.rawValue)
    Console.out((["line", "words"] + methods.map { "\($0) bits" } + methods.map { "\($0) b/w" }).joined(separator: "\t"))
    for (index, line) in report.lines.enumerated() {
      let bits = methods.map { String(line.bits[$0] ?? 0) }
      let perWord = methods.map { String(format: "%.2f", line.bitsPerWord[$0] ?? 0) }
      Console.out(([String(index + 1), String(line.words)] + bits + perWord).joined(separator: "\t"))
    }
    Console.out("")
    Console.out("\(report.texts) texts, \(report.words) words, \(report.characters) characters; "
                + "format version \(report.formatVersion), text model \(report.modelIdentifier)")
    for summary in report.summaries {
      let name = summary.method.padding(toLength: 8, withPad: " ", startingAt: 0)
      Console.out(name + String(format: "mean %6.2f bits/word (pooled %6.2f), pooled %5.2f bits/char  ", summary.meanBitsPerWord,
                                summary.pooledBitsPerWord, summary.pooledBitsPerCharacter) + summary.label)
    }
    Console.out(String(format: "misc: encode %.3f s, decode %.3f s (%.0f KB/s)",
                       report.miscEncodeSeconds, report.miscDecodeSeconds, report.miscDecodeKBPerSecond))
  }
}
