import MISCCoding
import Testing
@testable import MISCBench

@Suite struct TextBenchTests {
  /// `misc bench text --format-version` runs that version's text coder: version 3 codes ten
  /// emoji above their raw UTF-8, version 4 within a byte of it; English costs about the same in
  /// both (version 4's mode flag is a fraction of a bit).
  @Test func formatVersionPicksTheTextCoder() throws {
    let emoji = "🚲🧱🚪☀️🌳🐦🌸🏠🚗🙂"
    let raw = emoji.utf8.count
    #expect(try TextBench.miscBytes(emoji, profile: .version3).count > raw)
    #expect(try TextBench.miscBytes(emoji, profile: .version4).count <= raw + 1)
    let english = "A red bicycle leaning against a stone wall beside a wooden door."
    #expect(try TextBench.miscBytes(english, profile: .version4).count <= TextBench.miscBytes(english, profile: .version3).count + 1)
    #expect(try TextBench.miscBytes(english) == TextBench.miscBytes(english, profile: .current))
  }

  /// The report counts characters, so text without spaces gets a meaningful bits per character.
  @Test func reportCountsCharacters() throws {
    guard ["brotli", "zstd", "gzip"].allSatisfy({ TextBench.locate($0) != nil }) else { return }
    let texts = ["一辆红色自行车靠在木门旁的石墙上。", "Ein rotes Fahrrad lehnt an einer Steinmauer."]
    let report = try TextBench.run(texts: texts, profile: .version4)
    #expect(report.formatVersion == 4)
    #expect(report.characters == texts.map(\.count).reduce(0, +))
    let misc = try #require(report.summaries.first { $0.method == "misc" })
    #expect(abs(misc.pooledBitsPerCharacter - Double(misc.totalBits) / Double(report.characters)) < 1e-12)
    let raw = try #require(report.summaries.first { $0.method == "raw" })
    #expect(raw.totalBits == texts.map { $0.utf8.count * 8 }.reduce(0, +))
  }
}
