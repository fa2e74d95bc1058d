/// Codes the strings of a file (overview, item names, item details) as one stream, so later
/// strings learn from earlier ones. Lossless for any UTF-8 string.
///
/// Each string is its bytes followed by 0xFF (a byte UTF-8 never uses), every bit predicted by
/// `TextPredictor`: a static English model trained on the caption corpus, mixed with models
/// that adapt within the stream. Integer-only, so every machine codes identically.
public struct TextCoder: Sendable {
  /// The longest string, in UTF-8 bytes, the coder accepts.
  public static let maxBytes = 4096

  private var predictor: TextPredictor

  /// A coder at the start of a stream. The static model is loaded once per process.
  public init() {
    predictor = TextPredictor(model: TextModel.sharedOrDie)
  }

  /// A coder over a given model (tests, training tools).
  public init(model: TextModel) {
    predictor = TextPredictor(model: model)
  }

  /// The identifier (payload hash) of the static model in use.
  public var modelIdentifier: UInt64 { predictor.model.identifier }

  /// Code `text` and its end. Strings longer than `maxBytes` UTF-8 bytes are a programming error.
  public mutating func encode(_ text: String, to encoder: inout RangeEncoder) {
    var text = text
    text.withUTF8 { bytes in
      precondition(bytes.count <= Self.maxBytes, "string longer than \(Self.maxBytes) bytes")
      for byte in bytes { predictor.encode(byte, to: &encoder) }
    }
    predictor.encode(TextModelLayout.endOfString, to: &encoder)
    predictor.startString()
  }

  /// Decode one string. Throws `CodingError` when the bytes are not valid UTF-8 or the string
  /// runs past `maxBytes` (a corrupt payload); never reads more than `maxBytes + 1` bytes' worth.
  public mutating func decode(from decoder: inout RangeDecoder) throws -> String {
    var bytes: [UInt8] = []
    while true {
      let byte = predictor.decode(from: &decoder)
      if byte == TextModelLayout.endOfString { break }
      guard bytes.count < Self.maxBytes else {
        predictor.startString()
        throw CodingError("text", "string longer than \(Self.maxBytes) bytes")
      }
      bytes.append(byte)
    }
    predictor.startString()
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw CodingError("text", "decoded bytes are not valid UTF-8")
    }
    return text
  }
}
