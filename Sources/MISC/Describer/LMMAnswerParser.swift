import Foundation

/// Reads an LMM's answer into (unrepaired) semantics, whatever shape it came in: the JSON of
/// the schema (or close to it), JSON inside markdown fences, the paper's line format (names on
/// line 1, details on lines 2–4, a blank line, the overview), or labelled, numbered or bulleted
/// sections ("1. Striking Objects: …").
public enum LMMAnswerParser {
  public static func parse(_ text: String) -> Semantics {
    let text = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    if let semantics = parseJSON(text) { return semantics }
    return parseLines(text)
  }

  /// Whether the answer is a refusal ("I'm sorry, I can't…") rather than a description.
  public static func isRefusal(_ text: String) -> Bool {
    let s = text.lowercased().replacingOccurrences(of: "’", with: "'").trimmingCharacters(in: .whitespacesAndNewlines)
    let openings = ["i'm sorry", "i am sorry", "sorry,", "sorry but", "i apologize", "i apologise", "i can't",
                    "i cannot", "i can not", "i'm unable", "i am unable", "i won't", "i will not",
                    "unfortunately, i", "as an ai"]
    return openings.contains { s.hasPrefix($0) }
  }

  // MARK: - JSON

  static func parseJSON(_ text: String) -> Semantics? {
    var candidates = fencedBlocks(text)
    candidates.append(text)
    for candidate in candidates {
      guard let open = candidate.firstIndex(of: "{"), let close = candidate.lastIndex(of: "}"), open < close else { continue }
      let data = Data(candidate[open...close].utf8)
      guard let object = try? JSONSerialization.jsonObject(with: data), let dictionary = object as? [String: Any] else { continue }
      if let semantics = semantics(from: dictionary) { return semantics }
    }
    return nil
  }

  /// Keys compared without case, spaces or punctuation: "Overall Description" = "overall_description".
  private static func normalizedKey(_ key: String) -> String {
    String(key.lowercased().filter { $0.isLetter })
  }

  private static func semantics(from dictionary: [String: Any]) -> Semantics? {
    var fields: [String: Any] = [:]
    for (key, value) in dictionary { fields[normalizedKey(key)] = value }
    let overviewKeys = ["overview", "overalldescription", "overall", "description", "detailall", "summary", "caption"]
    let overview = overviewKeys.lazy.compactMap { fields[$0] as? String }.first
    var items: [Semantics.Item] = []
    let listKeys = ["items", "objects", "strikingobjects", "striking", "entities"]
    if let list = listKeys.lazy.compactMap({ fields[$0] as? [Any] }).first {
      for element in list {
        if let name = element as? String {
          items.append(Semantics.Item(name: name, detail: ""))
        } else if let entry = element as? [String: Any] {
          var entryFields: [String: Any] = [:]
          for (key, value) in entry { entryFields[normalizedKey(key)] = value }
          let name = ["name", "object", "label", "title", "item"].lazy.compactMap { entryFields[$0] as? String }.first ?? ""
          let detail = ["detail", "details", "description", "detaileddescription"].lazy.compactMap { entryFields[$0] as? String }.first ?? ""
          items.append(Semantics.Item(name: name, detail: detail))
        }
      }
    } else if let names = fields["names"] as? [String] {
      let details = (fields["details"] as? [String]) ?? (fields["detaileddescription"] as? [String]) ?? []
      for (index, name) in names.enumerated() {
        items.append(Semantics.Item(name: name, detail: index < details.count ? details[index] : ""))
      }
    }
    if overview == nil && items.isEmpty { return nil }
    return Semantics(overview: overview ?? "", items: items)
  }

  /// The insides of ``` fenced blocks.
  static func fencedBlocks(_ text: String) -> [String] {
    var blocks: [String] = []
    var current: [Substring]? = nil
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
        if let block = current {
          blocks.append(block.joined(separator: "\n"))
          current = nil
        } else {
          current = []
        }
      } else {
        current?.append(line)
      }
    }
    if let block = current { blocks.append(block.joined(separator: "\n")) }  // an unclosed fence
    return blocks
  }

  // MARK: - Lines

  private enum Section { case names, details, overview }

  static func parseLines(_ text: String) -> Semantics {
    let fenced = fencedBlocks(text)
    let body = fenced.count == 1 ? fenced[0] : text
    let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
      .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("```") }
      .map { clean(String($0)) }

    if lines.contains(where: { label($0) != nil }) {
      return parseSections(lines)
    }
    // The paper's format: paragraphs separated by blank lines.
    var blocks: [[String]] = [[]]
    for line in lines {
      if line.isEmpty {
        if !blocks[blocks.count - 1].isEmpty { blocks.append([]) }
      } else {
        blocks[blocks.count - 1].append(line)
      }
    }
    blocks.removeAll { $0.isEmpty }
    guard let head = blocks.first else { return .empty }
    var names: [String], details: [String], overview: [String]
    if blocks.count >= 3 && head.count == 1 {
      names = splitNames(head[0])
      details = blocks[1]
      overview = blocks[2...].flatMap { $0 }
    } else if blocks.count >= 2 {
      names = splitNames(head[0])
      details = Array(head.dropFirst())
      overview = blocks[1...].flatMap { $0 }
    } else if head.count == 1 {
      let single = splitNames(head[0])
      if single.count >= 2 && single.allSatisfy({ $0.split(separator: " ").count <= 3 }) {
        return Semantics(items: single.map { Semantics.Item(name: $0, detail: "") })
      }
      return Semantics(overview: head[0])
    } else {
      names = splitNames(head[0])
      let count = min(max(names.count, 1), head.count - 1)
      details = Array(head[1...count])
      overview = Array(head[(count + 1)...])
    }
    return assemble(names: names, details: details, overview: overview)
  }

  private static func parseSections(_ lines: [String]) -> Semantics {
    var names: [String] = [], details: [String] = [], overview: [String] = [], preface: [String] = []
    var section: Section? = nil
    for line in lines where !line.isEmpty {
      var content = line
      if let (found, rest) = label(line) {
        section = found
        content = rest
      }
      guard !content.isEmpty else { continue }
      switch section {
      case .names: names += splitNames(content)
      case .details: details.append(content)
      case .overview: overview.append(content)
      case nil: preface.append(content)  // "Sure, here is…"; the overview only if none is labelled
      }
    }
    return assemble(names: names, details: details, overview: overview.isEmpty ? preface : overview)
  }

  /// Pairs names with details; a detail written "Name: detail" supplies or confirms its name.
  private static func assemble(names: [String], details: [String], overview: [String]) -> Semantics {
    var items: [Semantics.Item] = []
    let count = max(names.count, details.count)
    for index in 0..<count {
      var name = index < names.count ? names[index] : ""
      var detail = index < details.count ? details[index] : ""
      if let colon = detail.firstIndex(of: ":") {
        let prefix = detail[..<colon].trimmingCharacters(in: .whitespaces)
        let words = prefix.split(separator: " ").count
        if words >= 1 && words <= 3 {
          if name.isEmpty { name = prefix }
          detail = detail[detail.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
      } else if !name.isEmpty {
        for separator in [" - ", " – ", " — "] {
          if let range = detail.range(of: separator), detail[..<range.lowerBound].lowercased() == name.lowercased() {
            detail = String(detail[range.upperBound...])
            break
          }
        }
      }
      items.append(Semantics.Item(name: name, detail: detail))
    }
    return Semantics(overview: overview.joined(separator: " "), items: items)
  }

  /// "Astronaut, Moon and Earth." → ["Astronaut", "Moon", "Earth"].
  static func splitNames(_ line: String) -> [String] {
    var text = line.trimmingCharacters(in: .whitespaces)
    while let last = text.last, ".;:".contains(last) { text.removeLast() }
    var parts = text.split(whereSeparator: { $0 == "," || $0 == ";" }).map { $0.trimmingCharacters(in: .whitespaces) }
    if let last = parts.last {
      if parts.count > 1 && last.lowercased().hasPrefix("and ") {
        parts[parts.count - 1] = String(last.dropFirst(4))
      } else if parts.count == 2, let range = last.range(of: " and ") {
        parts[1] = String(last[..<range.lowerBound])
        parts.append(String(last[range.upperBound...]))
      }
    }
    return parts.filter { !$0.isEmpty }
  }

  /// A section label at the start of a line ("Striking Objects:", "2. Detailed Description –"),
  /// with what follows it.
  private static func label(_ line: String) -> (Section, String)? {
    if let colon = line.firstIndex(of: ":") {
      let head = String(line[..<colon])
      if head.split(separator: " ").count <= 4, let section = classify(head) {
        return (section, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
      }
    }
    if line.split(separator: " ").count <= 4, let section = classify(line) { return (section, "") }
    return nil
  }

  private static func classify(_ head: String) -> Section? {
    let h = head.lowercased().filter { $0.isLetter || $0 == " " }.trimmingCharacters(in: .whitespaces)
    if h.contains("overall") || ["overview", "summary", "caption", "overall description"].contains(h) { return .overview }
    if h.contains("detail") || h == "descriptions" || h == "description" { return .details }
    if h.contains("striking") || ["objects", "names", "items", "object names", "main objects"].contains(h) { return .names }
    return nil
  }

  /// A line without list markers, heading marks or emphasis.
  static func clean(_ line: String) -> String {
    var s = line.replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "__", with: "")
      .trimmingCharacters(in: .whitespaces)
    while let first = s.first, first == "#" || first == ">" { s = String(s.dropFirst()).trimmingCharacters(in: .whitespaces) }
    for marker in ["- ", "* ", "• ", "· ", "– ", "— "] where s.hasPrefix(marker) {
      s = String(s.dropFirst(marker.count)).trimmingCharacters(in: .whitespaces)
    }
    // "1. ", "2) ", "(3) "
    var digits = Substring(s)
    if digits.first == "(" { digits = digits.dropFirst() }
    let number = digits.prefix(while: { $0.isNumber })
    if !number.isEmpty && number.count <= 2 {
      let after = digits.dropFirst(number.count)
      if let mark = after.first, mark == "." || mark == ")", after.dropFirst().first == " " {
        s = after.dropFirst().trimmingCharacters(in: .whitespaces)
      }
    }
    return s
  }
}
