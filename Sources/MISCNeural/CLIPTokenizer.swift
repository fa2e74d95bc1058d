import Foundation

/// CLIP's byte-level BPE tokenizer, matching Hugging Face's `CLIPTokenizer` (transformers 5, the
/// tokenizers backend) id for id.
///
/// The steps, in order: special tokens (`<|startoftext|>`, `<|endoftext|>`) are split out of the raw
/// text; each remaining piece is NFC-normalised, every whitespace run becomes one space, and each
/// scalar is lowercased (full Unicode mapping, no context); the pre-tokenizer keeps the matches of
/// `'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`; each match's UTF-8 bytes map through
/// GPT-2's byte-to-unicode table, its last symbol gets `</w>`, and merges apply lowest rank first.
/// `encode` adds the start and end tokens and truncates to 77, keeping the end token.
public struct CLIPTokenizer: Sendable {
  /// Token string -> id (`vocab.json`).
  public let vocabulary: [String: Int]
  /// Merge pair -> rank, lower first (`merges.txt`).
  private let ranks: [Pair: Int]
  public let startID: Int
  public let endID: Int
  /// The id `padded` fills with: the pad token of `tokenizer_config.json`, else `<|endoftext|>` (HF's default).
  public let padID: Int
  /// Tokens per sequence, start and end included.
  public let contextLength: Int

  public static let startToken = "<|startoftext|>"
  public static let endToken = "<|endoftext|>"

  private struct Pair: Hashable, Sendable {
    var first: String
    var second: String
  }

  /// Reads `vocab.json`, `merges.txt` and, when present, the pad token of `tokenizer_config.json`.
  public init(directory: URL, contextLength: Int = 77) throws {
    var padToken = CLIPTokenizer.endToken
    let configURL = directory.appendingPathComponent("tokenizer_config.json")
    if let data = try? Data(contentsOf: configURL),
       let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
      if let pad = object["pad_token"] as? String {
        padToken = pad
      } else if let pad = (object["pad_token"] as? [String: Any])?["content"] as? String {
        padToken = pad
      }
    }
    try self.init(vocabulary: directory.appendingPathComponent("vocab.json"),
                  merges: directory.appendingPathComponent("merges.txt"), padToken: padToken, contextLength: contextLength)
  }

  public init(vocabulary vocabularyURL: URL, merges mergesURL: URL, padToken: String = CLIPTokenizer.endToken,
              contextLength: Int = 77) throws {
    precondition(contextLength >= 2, "a context needs room for the start and end tokens")
    let vocabularyData: Data, mergesData: Data
    do {
      vocabularyData = try Data(contentsOf: vocabularyURL)
    } catch {
      throw CLIPError.cannotRead(path: vocabularyURL.path, reason: error.localizedDescription)
    }
    do {
      mergesData = try Data(contentsOf: mergesURL)
    } catch {
      throw CLIPError.cannotRead(path: mergesURL.path, reason: error.localizedDescription)
    }
    guard let vocabulary = try? JSONDecoder().decode([String: Int].self, from: vocabularyData) else {
      throw CLIPError.badVocabulary(path: vocabularyURL.path, reason: "not a JSON object of token -> id")
    }
    var ranks: [Pair: Int] = [:]
    for line in String(decoding: mergesData, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true) {
      if line.hasPrefix("#version") { continue }
      let parts = line.split(separator: " ", omittingEmptySubsequences: true)
      guard parts.count == 2 else {
        throw CLIPError.badVocabulary(path: mergesURL.path, reason: "line \(ranks.count + 1) is not two symbols: '\(line)'")
      }
      let pair = Pair(first: String(parts[0]), second: String(parts[1]))
      if ranks[pair] == nil { ranks[pair] = ranks.count }
    }
    func id(_ token: String) throws -> Int {
      guard let id = vocabulary[token] else {
        throw CLIPError.badVocabulary(path: vocabularyURL.path, reason: "no id for '\(token)'")
      }
      return id
    }
    self.vocabulary = vocabulary
    self.ranks = ranks
    self.startID = try id(CLIPTokenizer.startToken)
    self.endID = try id(CLIPTokenizer.endToken)
    self.padID = try id(padToken)
    self.contextLength = contextLength
  }

  /// `[start] + tokens + [end]`, the tokens truncated so the whole fits `contextLength`.
  public func encode(_ text: String) -> [Int] {
    let ids = tokens(text)
    return [startID] + ids.prefix(contextLength - 2) + [endID]
  }

  /// `encode` padded with `padID` to exactly `contextLength` ids.
  public func padded(_ text: String) -> [Int] {
    let ids = encode(text)
    return ids + [Int](repeating: padID, count: contextLength - ids.count)
  }

  /// The BPE ids of `text`, without start and end tokens or truncation.
  public func tokens(_ text: String) -> [Int] {
    var ids: [Int] = []
    for segment in Self.splitSpecialTokens(text) {
      switch segment {
      case .special(let token):
        ids.append(token == Self.startToken ? startID : endID)
      case .text(let piece):
        for word in Self.preTokenize(Self.normalize(piece)) {
          for symbol in bpe(word) { ids.append(vocabulary[symbol] ?? endID) }  // unknown -> unk (<|endoftext|>)
        }
      }
    }
    return ids
  }

  private enum Segment {
    case special(String)
    case text(Substring)
  }

  /// The text cut around literal special tokens, which keep their ids whatever surrounds them.
  private static func splitSpecialTokens(_ text: String) -> [Segment] {
    var segments: [Segment] = []
    var rest = text[...]
    while !rest.isEmpty {
      let start = rest.range(of: startToken), end = rest.range(of: endToken)
      let first: Range<String.Index>?
      switch (start, end) {
      case let (s?, e?): first = s.lowerBound <= e.lowerBound ? s : e
      case let (s?, nil): first = s
      case let (nil, e?): first = e
      default: first = nil
      }
      guard let match = first else {
        segments.append(.text(rest))
        break
      }
      if match.lowerBound > rest.startIndex { segments.append(.text(rest[rest.startIndex..<match.lowerBound])) }
      segments.append(.special(String(rest[match])))
      rest = rest[match.upperBound...]
    }
    return segments
  }

  /// NFC, whitespace runs to one space, per-scalar full lowercase mapping (the tokenizers normalizers).
  static func normalize(_ text: Substring) -> [Unicode.Scalar] {
    let composed = String(text).precomposedStringWithCanonicalMapping
    var scalars: [Unicode.Scalar] = []
    var inWhitespace = false
    for scalar in composed.unicodeScalars {
      if scalar.properties.isWhitespace {
        if !inWhitespace { scalars.append(" ") }
        inWhitespace = true
        continue
      }
      inWhitespace = false
      if scalar.properties.changesWhenLowercased {
        scalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
      } else {
        scalars.append(scalar)
      }
    }
    return scalars
  }

  private static func isLetter(_ s: Unicode.Scalar) -> Bool {
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return false
    }
  }

  private static func isNumber(_ s: Unicode.Scalar) -> Bool {
    switch s.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
  }

  private static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }

  /// The regex's matches, leftmost first, whitespace dropped.
  static func preTokenize(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
    var words: [[Unicode.Scalar]] = []
    var i = 0
    let n = scalars.count
    outer: while i < n {
      let s = scalars[i]
      if s == "'" {
        for tail in contractions {
          if i + 1 + tail.count <= n && Array(scalars[(i + 1)..<(i + 1 + tail.count)]) == tail {
            words.append(Array(scalars[i..<(i + 1 + tail.count)]))
            i += 1 + tail.count
            continue outer
          }
        }
      }
      if isLetter(s) {
        var j = i + 1
        while j < n && isLetter(scalars[j]) { j += 1 }
        words.append(Array(scalars[i..<j]))
        i = j
      } else if isNumber(s) {
        words.append([s])
        i += 1
      } else if s.properties.isWhitespace {
        i += 1
      } else {
        var j = i + 1
        while j < n, !isLetter(scalars[j]), !isNumber(scalars[j]), !scalars[j].properties.isWhitespace { j += 1 }
        words.append(Array(scalars[i..<j]))
        i = j
      }
    }
    return words
  }

  /// GPT-2's reversible byte -> printable character table.
  static let byteEncoder: [String] = {
    var printable = Array(33...126) + Array(161...172) + Array(174...255)
    var table = [Int](repeating: 0, count: 256)
    for b in printable { table[b] = b }
    var next = 256
    for b in 0..<256 where !printable.contains(b) {
      table[b] = next
      next += 1
    }
    printable.removeAll()
    return table.map { String(Character(Unicode.Scalar(UInt32($0))!)) }
  }()

  /// One pre-token's BPE symbols: byte-encoded, `</w>` on the last, merged lowest rank first.
  func bpe(_ word: [Unicode.Scalar]) -> [String] {
    var utf8: [UInt8] = []
    for scalar in word { utf8.append(contentsOf: String(scalar).utf8) }
    var symbols = utf8.map { Self.byteEncoder[Int($0)] }
    guard !symbols.isEmpty else { return [] }
    symbols[symbols.count - 1] += "</w>"
    while symbols.count > 1 {
      var best: (rank: Int, pair: Pair)?
      for k in 0..<(symbols.count - 1) {
        let pair = Pair(first: symbols[k], second: symbols[k + 1])
        if let rank = ranks[pair], rank < (best?.rank ?? Int.max) { best = (rank, pair) }
      }
      guard let (_, pair) = best else { break }
      var merged: [String] = []
      merged.reserveCapacity(symbols.count)
      var k = 0
      while k < symbols.count {
        if k + 1 < symbols.count && symbols[k] == pair.first && symbols[k + 1] == pair.second {
          merged.append(pair.first + pair.second)
          k += 2
        } else {
          merged.append(symbols[k])
          k += 1
        }
      }
      symbols = merged
    }
    return symbols
  }
}
