/// Codes the strings of a file (overview, item names, item details) as one stream, so later
/// strings learn from earlier ones. Lossless for any UTF-8 string.
///
/// Each string is its bytes followed by 0xFF (a byte UTF-8 never uses), every bit predicted by
/// `TextPredictor`: a static English model trained on the caption corpus, mixed with models
/// that adapt within the stream. Integer-only, so every machine codes identically. From format
/// version 4 flags before each string may send it raw instead, by code points (`UTF8Models`) or
/// as bytes, so no string costs more than its UTF-8 plus a few bits.
public struct TextCoder: Sendable {
  /// The longest string, in UTF-8 bytes, the coder accepts.
  public static let maxBytes = 4096

  private var predictor: TextPredictor
  private let rawEscape: Bool
  /// From format version 4: whether a string is raw (adaptive, shared by the file's strings),
  /// and if so whether it is coded by code points (`UTF8Models`) or as bytes.
  private var rawFlag: AdaptiveBit
  private var codePointFlag = AdaptiveBit(p1: 49152)
  private var codePoints = UTF8Models()

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
    // Each way on a copy of the coder and the stream; the shortest is kept.
    var modelled = (coder: self, encoder: encoder)
    modelled.coder.rawFlag.encode(false, to: &modelled.encoder)
    modelled.coder.encodeModelled(bytes, to: &modelled.encoder)
    var byCodePoint = (coder: self, encoder: encoder)
    byCodePoint.coder.rawFlag.encode(true, to: &byCodePoint.encoder)
    byCodePoint.coder.codePointFlag.encode(true, to: &byCodePoint.encoder)
    byCodePoint.coder.codePoints.encode(text, to: &byCodePoint.encoder)
    byCodePoint.coder.predictor.startString()
    var byByte = (coder: self, encoder: encoder)
    byByte.coder.rawFlag.encode(true, to: &byByte.encoder)
    byByte.coder.codePointFlag.encode(false, to: &byByte.encoder)
    Self.encodeRaw(bytes, to: &byByte.encoder)
    byByte.coder.predictor.startString()
    let best = [modelled, byCodePoint, byByte].min { $0.encoder.bitCount < $1.encoder.bitCount }!
    self = best.coder
    encoder = best.encoder
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
  /// A reader may pass a smaller `maxBytes` (the fuzz targets do, to bound the work a corrupt
  /// string costs); a larger one counts as `TextCoder.maxBytes`.
  public mutating func decode(from decoder: inout RangeDecoder, maxBytes: Int = TextCoder.maxBytes) throws -> String {
    let maxBytes = min(maxBytes, Self.maxBytes)
    var bytes: [UInt8] = []
    if rawEscape && rawFlag.decode(from: &decoder) {
      if codePointFlag.decode(from: &decoder) {
        bytes = try codePoints.decode(from: &decoder, maxBytes: maxBytes)
      } else {
        var zeros = 0
        while decoder.decodeBits(count: 1) == 0 {
          zeros += 1
          guard zeros <= 13 else { throw CodingError("text", "raw string length code too long") }
        }
        let count = Int((1 << UInt32(zeros)) | (zeros > 0 ? decoder.decodeBits(count: zeros) : 0)) - 1
        guard count <= maxBytes else { throw CodingError("text", "string longer than \(maxBytes) bytes") }
        bytes.reserveCapacity(count)
        for _ in 0..<count { bytes.append(UInt8(decoder.decodeBits(count: 8))) }
      }
    } else {
      while true {
        let byte = predictor.decode(from: &decoder)
        if byte == TextModelLayout.endOfString { break }
        guard bytes.count < maxBytes else {
          predictor.startString()
          throw CodingError("text", "string longer than \(maxBytes) bytes")
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

/// The code-point mode of the text coder (format version 4): each Unicode scalar is its UTF-8
/// length (or the string's end) as up to four adaptive decisions, then the payload bits of its
/// bytes (the lead byte's after its length prefix, six of each continuation byte), each byte's
/// through an adaptive binary tree of its own for that length and position. A script's lead
/// bytes and an emoji's second byte repeat, so they soon cost little; no bit is spent on the
/// fixed prefixes. Lossless for any string; the decoder checks the bytes are valid UTF-8.
struct UTF8Models: Sendable {
  /// End of string, 1 byte, 2 bytes, 3 bytes (else 4).
  var length = [AdaptiveBit](repeating: AdaptiveBit(), count: 4)
  /// Per (length, position), a tree over that byte's payload bits: index `slot(length, position)`.
  var trees: [[AdaptiveBit]] = (1...4).flatMap { length in
    (0..<length).map { position in [AdaptiveBit](repeating: AdaptiveBit(), count: 1 << UTF8Models.payloadBits(length, position)) }
  }

  static func payloadBits(_ length: Int, _ position: Int) -> Int { position > 0 ? 6 : (length == 1 ? 7 : 7 - length) }
  static func slot(_ length: Int, _ position: Int) -> Int { (length - 1) * length / 2 + position }
  static let leadPrefix: [UInt8] = [0, 0x00, 0xC0, 0xE0, 0xF0]

  mutating func encode(_ text: String, to encoder: inout RangeEncoder) {
    for scalar in text.unicodeScalars {
      let bytes = Array(String(scalar).utf8)
      let n = bytes.count
      length[0].encode(false, to: &encoder)
      for k in 1..<4 {
        length[k].encode(n == k, to: &encoder)
        if n == k { break }
      }
      for (position, byte) in bytes.enumerated() {
        let bits = Self.payloadBits(n, position)
        var node = 1
        let value = Int(byte) & ((1 << bits) - 1)
        for i in (0..<bits).reversed() {
          let bit = (value >> i) & 1 == 1
          trees[Self.slot(n, position)][node].encode(bit, to: &encoder)
          node = 2 * node + (bit ? 1 : 0)
        }
      }
    }
    length[0].encode(true, to: &encoder)
  }

  mutating func decode(from decoder: inout RangeDecoder, maxBytes: Int) throws -> [UInt8] {
    var bytes: [UInt8] = []
    while !length[0].decode(from: &decoder) {
      var n = 1
      while n < 4 && !length[n].decode(from: &decoder) { n += 1 }
      guard bytes.count + n <= maxBytes else { throw CodingError("text", "string longer than \(maxBytes) bytes") }
      for position in 0..<n {
        let bits = Self.payloadBits(n, position)
        var node = 1
        for _ in 0..<bits {
          node = 2 * node + (trees[Self.slot(n, position)][node].decode(from: &decoder) ? 1 : 0)
        }
        let value = UInt8(node - (1 << bits))
        bytes.append(position == 0 ? Self.leadPrefix[n] | value : 0x80 | value)
      }
    }
    return bytes
  }
}

