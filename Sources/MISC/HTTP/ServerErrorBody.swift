import Foundation

/// The one reader of the bodies that servers send with an error status, so every client quotes
/// a server the same way: on one line, without control characters, at most `limit` characters.
enum ServerErrorBody {
  /// The longest message quoted, in characters; a longer one is cut and ends with "…".
  static let limit = 300
  /// Bodies above this many bytes are not parsed as JSON, only their start is read as text.
  static let maxJSONBytes = 64 << 10
  /// How much of a text body is read, in bytes.
  static let maxTextBytes = 4 << 10

  /// The server's message in `body`: OpenAI's and the restorer protocol's
  /// `{"error": {"message": …}}`, the common `{"error": "…"}`, `{"message": …}` and
  /// `{"detail": …}` (FastAPI's list of `{"msg": …}` included), else the start of a text body.
  /// Nil for an empty body, a binary one, or HTML without a title.
  static func message(in body: Data) -> String? {
    if body.count <= maxJSONBytes, let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
      if let message = jsonMessage(object) { return clean(message) }
      if object.isEmpty { return nil }
    }
    guard let text = text(body.prefix(maxTextBytes)) else { return nil }
    if text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("<") { return htmlTitle(text).flatMap(clean) }
    return clean(text)
  }

  /// The message field of a JSON error object, if it has a known one.
  private static func jsonMessage(_ object: [String: Any]) -> String? {
    if let error = object["error"] as? [String: Any] { return error["message"] as? String }
    if let message = (object["error"] as? String) ?? (object["message"] as? String) ?? (object["detail"] as? String) {
      return message
    }
    if let details = object["detail"] as? [[String: Any]] {
      let messages = details.compactMap { $0["msg"] as? String }
      return messages.isEmpty ? nil : messages.joined(separator: "; ")
    }
    return nil
  }

  /// `bytes` as UTF-8 text, allowing a character cut at the end; nil for binary data.
  private static func text(_ bytes: Data) -> String? {
    for cut in 0...min(3, bytes.count) {
      guard let text = String(data: bytes.dropLast(cut), encoding: .utf8) else { continue }
      return text.unicodeScalars.contains("\0") ? nil : text
    }
    return nil
  }

  /// The text of an HTML page's `<title>`, as proxies put their status there.
  private static func htmlTitle(_ html: String) -> String? {
    guard let open = html.range(of: "<title>", options: .caseInsensitive),
          let close = html.range(of: "</title>", options: .caseInsensitive, range: open.upperBound..<html.endIndex)
    else { return nil }
    return String(html[open.upperBound..<close.lowerBound])
  }

  /// `message` on one line, control characters dropped, cut to `limit`; nil when nothing is left.
  private static func clean(_ message: String) -> String? {
    let printable = String(String.UnicodeScalarView(message.unicodeScalars.map {
      $0.properties.generalCategory == .control ? " " : $0
    }))
    let flat = printable.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    if flat.isEmpty { return nil }
    return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
  }
}
