import MISCCoding

/// Makes an LMM's answer fit MISC: at most three items, names of at most 3 words, details of
/// at most 10, an overview within the level's word budget, no empty or duplicate items, and
/// whitespace normalised. Pure: the same answer always gives the same semantics.
public struct SemanticsRepair: Sendable, Hashable {
  /// The overview's word budget (`Level.overviewWords`).
  public var overviewWords: Int
  public var maxItems = Container.maxItems
  public var nameWords = 3
  public var detailWords = 10

  public init(overviewWords: Int) {
    self.overviewWords = overviewWords
  }

  /// Whether repaired semantics are worth keeping: an overview or at least one item.
  public static func isUsable(_ semantics: Semantics) -> Bool {
    !semantics.overview.isEmpty || !semantics.items.isEmpty
  }

  public func repair(_ raw: Semantics) -> Semantics {
    var items: [Semantics.Item] = []
    var seen = Set<String>()
    for item in raw.items {
      var name = Self.trimPunctuation(Self.cut(Self.clean(item.name), words: nameWords), keepTerminal: false)
      var detail = Self.cut(Self.clean(item.detail), words: detailWords)
      detail = Self.trimPunctuation(detail, keepTerminal: true)
      if name.isEmpty && detail.isEmpty { continue }
      if name.isEmpty { name = Self.trimPunctuation(Self.cut(detail, words: nameWords), keepTerminal: false) }
      if detail.isEmpty { detail = name }
      let key = name.lowercased()
      guard !seen.contains(key) else { continue }
      seen.insert(key)
      items.append(Semantics.Item(name: Self.fitBytes(name), detail: Self.fitBytes(detail), map: item.map))
      if items.count == maxItems { break }
    }
    let overview = Self.fitBytes(trimOverview(Self.clean(raw.overview)))
    return Semantics(overview: overview, items: items)
  }

  /// The overview within `overviewWords`: whole sentences when they keep at least half the
  /// budget, else whole words ending with a period.
  func trimOverview(_ text: String) -> String {
    let words = text.split(separator: " ").map(String.init)
    guard words.count > overviewWords else { return text }
    guard overviewWords > 0 else { return "" }
    var sentenceEnd = 0
    for index in 0..<overviewWords where Self.endsSentence(words[index]) {
      sentenceEnd = index + 1
    }
    if sentenceEnd * 2 >= overviewWords {
      return words[0..<sentenceEnd].joined(separator: " ")
    }
    let cut = Self.trimPunctuation(words[0..<overviewWords].joined(separator: " "), keepTerminal: false)
    return cut.isEmpty ? "" : cut + "."
  }

  // MARK: - Text helpers

  /// Whitespace runs become one space; wrapping quotes, markdown emphasis and backticks go.
  static func clean(_ text: String) -> String {
    var s = text.replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "__", with: "")
      .replacingOccurrences(of: "`", with: "")
    s = s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    let quotes: Set<Character> = ["\"", "'", "“", "”", "‘", "’", "«", "»"]
    while let first = s.first, let last = s.last, s.count >= 2, quotes.contains(first), quotes.contains(last) {
      s = String(s.dropFirst().dropLast()).trimmingSpaces()
    }
    return s
  }

  /// The first `words` words (whole words only).
  static func cut(_ text: String, words: Int) -> String {
    text.split(separator: " ").prefix(max(0, words)).joined(separator: " ")
  }

  /// Drops trailing separators (`,;:-`), and sentence punctuation too unless `keepTerminal`.
  static func trimPunctuation(_ text: String, keepTerminal: Bool) -> String {
    var s = Substring(text)
    let separators: Set<Character> = [",", ";", ":", "-", "–", "—", " "]
    let terminal: Set<Character> = [".", "!", "?", "…"]
    while let last = s.last, separators.contains(last) || (!keepTerminal && terminal.contains(last)) {
      s = s.dropLast()
    }
    return String(s)
  }

  static func endsSentence(_ word: String) -> Bool {
    var w = Substring(word)
    while let last = w.last, "\"')]”’".contains(last) { w = w.dropLast() }
    guard let last = w.last else { return false }
    return last == "." || last == "!" || last == "?"
  }

  /// Whole words within the text coder's byte limit (a pathological "word" is cut).
  static func fitBytes(_ text: String) -> String {
    guard text.utf8.count > TextCoder.maxBytes else { return text }
    var words = text.split(separator: " ")
    while words.count > 1 && words.joined(separator: " ").utf8.count > TextCoder.maxBytes { words.removeLast() }
    var s = words.joined(separator: " ")
    while s.utf8.count > TextCoder.maxBytes { s.removeLast() }
    return s
  }
}

fileprivate extension String {
  func trimmingSpaces() -> String {
    var s = Substring(self)
    while s.first?.isWhitespace == true { s = s.dropFirst() }
    while s.last?.isWhitespace == true { s = s.dropLast() }
    return String(s)
  }
}
