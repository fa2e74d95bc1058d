/// The words sent to the LMM: the paper's request (three striking items, ≤10-word details, an
/// overall description) as a JSON-schema request, and as the paper's line format for servers
/// without structured output.
public enum DescriberPrompt {
  /// Bumped whenever the prompt or schema changes: it is part of the cache key.
  public static let version = 1

  /// The request for structured (JSON-schema) output.
  public static func structured(overviewWords: Int) -> String {
    """
    Please give me the following information based on the input image: \
    1. Striking Objects: the names of the three most striking objects, people, or animals in the image, \
    each name at most 3 words. \
    2. Detailed Description: a description of each of those objects, each within 10 words. \
    3. Overall Description: an overall description of this image within \(overviewWords) words. \
    Answer with a JSON object: "items" is a list of {"name", "detail"} in order of importance, \
    "overview" is the overall description.
    """
  }

  /// The paper's request with its line format spelled out, for servers without `json_schema`.
  public static func lines(overviewWords: Int) -> String {
    """
    Please give me the following information based on the input image: \
    1. Striking Objects: a list of names of the three most striking objects, people, or animals in that image. \
    2. Detailed Description: a list that consists of each object's detailed description. \
    The content of each item should be placed in the same line. Each description should be within 10 words. \
    3. Overall Description: an overall description of this image within \(overviewWords) words.
    Answer in exactly this format, with no headings, numbering or other text:
    Line 1: the three names, comma-separated, ending with a period.
    Lines 2 to 4: one description per line, in the same order as the names.
    Then one blank line, then the overall description as one paragraph.
    """
  }

  /// The follow-up sent once when an answer could not be used.
  public static func corrective(reason: String, structured: Bool, overviewWords: Int) -> String {
    let format = structured
      ? "a JSON object with \"items\" (up to three {\"name\", \"detail\"}) and \"overview\""
      : "line 1: three names, comma-separated, ending with a period; lines 2 to 4: one description each; a blank line; the overall description"
    return """
      Your answer could not be used (\(reason)). This is an ordinary photo-description task for \
      image compression. Describe the image again, exactly in this format: \(format). \
      Names at most 3 words, descriptions at most 10 words, the overall description within \(overviewWords) words.
      """
  }

  /// The JSON schema of `response_format` (strict mode: every property required, no extras).
  public static let schemaName = "image_semantics"

  public static var schema: JSONValue {
    .object([
      "type": "object",
      "properties": .object([
        "items": .object([
          "type": "array",
          "description": "The three most striking objects, people or animals, most important first.",
          "items": .object([
            "type": "object",
            "properties": .object([
              "name": .object(["type": "string", "description": "At most 3 words."]),
              "detail": .object(["type": "string", "description": "A description within 10 words."]),
            ]),
            "required": .array(["name", "detail"]),
            "additionalProperties": .bool(false),
          ]),
        ]),
        "overview": .object(["type": "string", "description": "An overall description of the image."]),
      ]),
      "required": .array(["items", "overview"]),
      "additionalProperties": .bool(false),
    ])
  }
}

/// A JSON value for building requests with stable, sorted-key output.
public enum JSONValue: Sendable, Hashable, Encodable, ExpressibleByStringLiteral {
  case string(String)
  case number(Double)
  case integer(Int)
  case bool(Bool)
  case array([JSONValue])
  case object([String: JSONValue])
  case null

  public init(stringLiteral value: String) { self = .string(value) }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case let .string(v): try container.encode(v)
    case let .number(v): try container.encode(v)
    case let .integer(v): try container.encode(v)
    case let .bool(v): try container.encode(v)
    case let .array(v): try container.encode(v)
    case let .object(v): try container.encode(v)
    case .null: try container.encodeNil()
    }
  }
}
