import Foundation

/// A strict JSON (RFC 8259) syntax check that says where a file goes wrong, by line and
/// column, and refuses nesting deeper than `maxDepth` before any parser recurses into it.
/// Foundation's decoder only says "not valid JSON".
enum JSONSyntax {
  /// Deeper nesting is refused as "nested too deeply": no semantics file needs more than 4.
  static let maxDepth = 32

  struct Failure: Error, CustomStringConvertible {
    var line: Int
    var column: Int
    var reason: String
    var description: String { "line \(line), column \(column): \(reason)" }
  }

  /// Throws the first syntax error in `bytes`, if any.
  static func check(_ bytes: [UInt8]) throws {
    var scanner = Scanner(bytes: bytes)
    try scanner.value(depth: 0)
    scanner.skipSpace()
    if scanner.index < bytes.count { throw scanner.failure("unexpected text after the JSON value") }
  }

  /// The line and column where the value at `path` (object keys and array indices, as a
  /// `DecodingError` gives them) starts in valid JSON `bytes`; nil if it is not there.
  static func location(of path: [any CodingKey], in bytes: [UInt8]) -> (line: Int, column: Int)? {
    var scanner = Scanner(bytes: bytes)
    guard (try? scanner.find(path[...])) == true else { return nil }
    let failure = scanner.failure("")
    return (failure.line, failure.column)
  }

  private struct Scanner {
    let bytes: [UInt8]
    var index = 0
    var line = 1
    var lineStart = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func failure(_ reason: String) -> Failure {
      // Columns count characters, not bytes: UTF-8 continuation bytes are skipped.
      let end = min(index, bytes.count)
      let column = bytes[lineStart..<end].reduce(1) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 }
      return Failure(line: line, column: column, reason: reason)
    }

    mutating func skipSpace() {
      while index < bytes.count {
        switch bytes[index] {
        case 0x0A: line += 1; lineStart = index + 1
        case 0x20, 0x09, 0x0D: break
        default: return
        }
        index += 1
      }
    }

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func value(depth: Int) throws {
      skipSpace()
      guard let byte = current else { throw failure("unexpected end of the file") }
      switch byte {
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        if depth >= JSONSyntax.maxDepth { throw failure("nested too deeply (more than \(JSONSyntax.maxDepth) levels)") }
        try container(close: byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]"), depth: depth + 1)
      case UInt8(ascii: "\""): try string()
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
      case UInt8(ascii: "t"): try literal("true")
      case UInt8(ascii: "f"): try literal("false")
      case UInt8(ascii: "n"): try literal("null")
      default: throw failure("unexpected \(describe(byte))")
      }
    }

    /// Moves to the start of the value at `path`; false when the path is not in the document.
    mutating func find(_ path: ArraySlice<any CodingKey>) throws -> Bool {
      skipSpace()
      guard let key = path.first else { return true }
      switch current {
      case UInt8(ascii: "{")?:
        guard key.intValue == nil else { return false }
        index += 1
        while true {
          skipSpace()
          guard current == UInt8(ascii: "\"") else { return false }
          let start = index
          try string()
          let name = (try? JSONDecoder().decode(String.self, from: Data(bytes[start..<index]))) ?? ""
          skipSpace()
          guard current == UInt8(ascii: ":") else { return false }
          index += 1
          if name == key.stringValue { return try find(path.dropFirst()) }
          try value(depth: 0)
          skipSpace()
          guard current == UInt8(ascii: ",") else { return false }
          index += 1
        }
      case UInt8(ascii: "[")?:
        guard let wanted = key.intValue else { return false }
        index += 1
        for position in 0... {
          skipSpace()
          if current == UInt8(ascii: "]") { return false }
          if position == wanted { return try find(path.dropFirst()) }
          try value(depth: 0)
          skipSpace()
          guard current == UInt8(ascii: ",") else { return false }
          index += 1
        }
        return false
      default:
        return false
      }
    }

    mutating func container(close: UInt8, depth: Int) throws {
      let object = close == UInt8(ascii: "}")
      index += 1
      skipSpace()
      if current == close { index += 1; return }
      while true {
        if object {
          skipSpace()
          guard current == UInt8(ascii: "\"") else {
            throw failure(current.map { "expected a key in double quotes, found \(describe($0))" } ?? "unexpected end of the file")
          }
          try string()
          skipSpace()
          guard current == UInt8(ascii: ":") else { throw failure("expected ':' after the key") }
          index += 1
        }
        try value(depth: depth)
        skipSpace()
        switch current {
        case UInt8(ascii: ",")?: index += 1
        case close?: index += 1; return
        case nil: throw failure("unexpected end of the file (missing '\(Character(Unicode.Scalar(close)))')")
        case let byte?: throw failure("expected ',' or '\(Character(Unicode.Scalar(close)))', found \(describe(byte))")
        }
      }
    }

    mutating func string() throws {
      index += 1
      while let byte = current {
        switch byte {
        case UInt8(ascii: "\""):
          index += 1
          return
        case UInt8(ascii: "\\"):
          index += 1
          guard let escape = current else { break }
          if escape == UInt8(ascii: "u") {
            for _ in 0..<4 {
              index += 1
              guard let hex = current, hex.isHexDigit else { throw failure("\\u needs four hex digits") }
            }
          } else if !"\"\\/bfnrt".utf8.contains(escape) {
            throw failure("unknown escape \\\(Character(Unicode.Scalar(escape)))")
          }
        case 0..<0x20:
          throw failure("a control character inside a string (write a line break as \\n)")
        default:
          break
        }
        index += 1
      }
      throw failure("unterminated string")
    }

    mutating func number() throws {
      if current == UInt8(ascii: "-") { index += 1 }
      guard let first = current, first.isDigit else { throw failure("expected a digit") }
      index += 1
      if first != UInt8(ascii: "0") { while current?.isDigit == true { index += 1 } }
      if current == UInt8(ascii: ".") {
        index += 1
        guard current?.isDigit == true else { throw failure("expected a digit after '.'") }
        while current?.isDigit == true { index += 1 }
      }
      if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
        index += 1
        if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
        guard current?.isDigit == true else { throw failure("expected a digit in the exponent") }
        while current?.isDigit == true { index += 1 }
      }
    }

    mutating func literal(_ word: String) throws {
      for expected in word.utf8 {
        guard current == expected else { throw failure("unexpected \(current.map(describe) ?? "end of the file") (expected \(word))") }
        index += 1
      }
    }

    func describe(_ byte: UInt8) -> String {
      (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }
  }
}

private extension UInt8 {
  var isDigit: Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) }
  var isHexDigit: Bool {
    isDigit || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
  }
}
