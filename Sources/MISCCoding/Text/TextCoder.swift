/// Codes the strings of a file (overview, item names, item details) as one stream, so later
/// strings learn from earlier ones. Lossless for any UTF-8 string.
///
/// Each string is its bytes followed by 0xFF (a byte UTF-8 never uses), every bit predicted by
/// `TextPredictor`: a static English model trained on the caption corpus, mixed with models
/// that adapt within the stream. Integer-only, so every machine codes identically. From format
/// version 4 a flag before each string may send it raw instead, so no string costs more than
/// its UTF-8 plus a few bits.
public struct TextCoder: Sendable {
  /// The longest string, in UTF-8 bytes, the coder accepts.
  public static let maxBytes = 4096

  private var predictor: TextPredictor
  private let rawEscape: Bool
  /// From format version 4: whether a string is raw (adaptive, shared by the file's strings).
  private var rawFlag: AdaptiveBit

  /// A coder at the start of a stream of the format `profile`. The static model is loaded once
  /// per process; it must be the profile's (`FormatProfile.Text.modelIdentifier`), else this
  /// throws rather than code against another model.
  public init(profile: FormatProfile = .current) throws {
    let model = TextModel.sharedOrDie
    guard model.identifier == profile.text.modelIdentifier else {
      throw CodingError("text model", "the shipped model is \(String(model.identifier, radix: 16)); format v\(profile.version) "
                          + "codes with \(String(profile.text.modelIdentifier, radix: 16))")
    }
    self.init(model: model, profile: profile)
  }

  /// A coder at the start of a stream of the current format (the shipped model must be its).
  public init() {
    do { try self.init(profile: .current) } catch { fatalError("\(error)") }
  }

  /// A coder over a given model (tests, training tools).
  public init(model: TextModel, profile: FormatProfile = .current) {
    predictor = TextPredictor(model: model)
    rawEscape = profile.text.rawEscape
    rawFlag = AdaptiveBit(p1: profile.text.rawP1 == 0 ? 32768 : profile.text.rawP1)
  }

  /// The identifier (payload hash) of the static model in use.
  public var modelIdentifier: UInt64 { predictor.model.identifier }

  /// Code `text` and its end. Strings longer than `maxBytes` UTF-8 bytes are a programming error.
  ///
  /// With the raw escape (format version 4), the string is coded both ways and the shorter
  /// kept: the trained model (its bytes and 0xFF, each bit predicted), or raw (an Elias-gamma
  /// count of bytes plus one, then the bytes, 8 bits each). A raw string leaves the predictor as
  /// it was, apart from the start of a new string.
  public mutating func encode(_ text: String, to encoder: inout RangeEncoder) {
    let bytes = Array(text.utf8)
    precondition(bytes.count <= Self.maxBytes, "string longer than \(Self.maxBytes) bytes")
    guard rawEscape else {
      encodeModelled(bytes, to: &encoder)
      return
    }
    var modelled = encoder
    var modelFlag = rawFlag
    modelFlag.encode(false, to: &modelled)
    var trial = self
    trial.rawFlag = modelFlag
    trial.encodeModelled(bytes, to: &modelled)
    var raw = encoder
    var rawFlagAfter = rawFlag
    rawFlagAfter.encode(true, to: &raw)
    Self.encodeRaw(bytes, to: &raw)
    if raw.bitCount < modelled.bitCount {
      encoder = raw
      rawFlag = rawFlagAfter
      predictor.startString()
    } else {
      encoder = modelled
      self = trial
    }
  }

  private mutating func encodeModelled(_ bytes: [UInt8], to encoder: inout RangeEncoder) {
    for byte in bytes { predictor.encode(byte, to: &encoder) }
    predictor.encode(TextModelLayout.endOfString, to: &encoder)
    predictor.startString()
  }

  /// Elias-gamma of `count + 1`, then the bytes.
  static func encodeRaw(_ bytes: [UInt8], to encoder: inout RangeEncoder) {
    let n = UInt32(bytes.count + 1)
    let length = 32 - n.leadingZeroBitCount
    // Unary length, one bit at a time as the decoder reads it, then the bits below the top one.
    for _ in 0..<(length - 1) { encoder.encodeBits(0, count: 1) }
    encoder.encodeBits(1, count: 1)
    encoder.encodeBits(n & ((1 << UInt32(length - 1)) - 1), count: length - 1)
    for byte in bytes { encoder.encodeBits(UInt32(byte), count: 8) }
  }

  /// Bits a raw string of `byteCount` bytes costs, besides its flag.
  public static func rawBits(byteCount: Int) -> Int {
    let length = Int.bitWidth - (byteCount + 1).leadingZeroBitCount
    return 2 * length - 1 + 8 * byteCount
  }

  /// Decode one string. Throws `CodingError` when the bytes are not valid UTF-8 or the string
  /// runs past `maxBytes` (a corrupt payload); never reads more than `maxBytes + 1` bytes' worth.
  public mutating func decode(from decoder: inout RangeDecoder) throws -> String {
    var bytes: [UInt8] = []
    if rawEscape && rawFlag.decode(from: &decoder) {
      var zeros = 0
      while decoder.decodeBits(count: 1) == 0 {
        zeros += 1
        guard zeros <= 13 else { throw CodingError("text", "raw string length code too long") }
      }
      let count = Int((1 << UInt32(zeros)) | (zeros > 0 ? decoder.decodeBits(count: zeros) : 0)) - 1
      guard count <= Self.maxBytes else { throw CodingError("text", "string longer than \(Self.maxBytes) bytes") }
      bytes.reserveCapacity(count)
      for _ in 0..<count { bytes.append(UInt8(decoder.decodeBits(count: 8))) }
    } else {
      while true {
        let byte = predictor.decode(from: &decoder)
        if byte == TextModelLayout.endOfString { break }
        guard bytes.count < Self.maxBytes else {
          predictor.startString()
          throw CodingError("text", "string longer than \(Self.maxBytes) bytes")
        }
        bytes.append(byte)
      }
    }
    predictor.startString()
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw CodingError("text", "decoded bytes are not valid UTF-8")
    }
    return text
  }
}
