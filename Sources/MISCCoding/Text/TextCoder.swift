/// Codes the strings of a file (overview, item names, item details) as one stream, so later
/// strings learn from earlier ones. Lossless for any UTF-8 string.
///
/// Placeholder of the foundation issue: adaptive byte models with a little order-1 context.
/// The trained static English model replaces it.
public struct TextCoder: Sendable {
  /// The longest string, in UTF-8 bytes, the decoder accepts.
  public static let maxBytes = 4096

  private var more = [AdaptiveBit](repeating: AdaptiveBit(p1: 60000), count: 2)
  private var tree = [AdaptiveBit](repeating: AdaptiveBit(), count: 4 * 256)
  private var previous: UInt8 = 0x20

  public init() {}

  public mutating func encode(_ text: String, to encoder: inout RangeEncoder) {
    let bytes = Array(text.utf8)
    precondition(bytes.count <= Self.maxBytes, "string longer than \(Self.maxBytes) bytes")
    for byte in bytes {
      more[moreContext].encode(true, to: &encoder)
      let base = context * 256
      var node = 1
      for k in (0..<8).reversed() {
        let bit = (byte >> UInt8(k)) & 1 == 1
        tree[base + node].encode(bit, to: &encoder)
        node = node * 2 + (bit ? 1 : 0)
      }
      previous = byte
    }
    more[moreContext].encode(false, to: &encoder)
    previous = 0x20
  }

  public mutating func decode(from decoder: inout RangeDecoder) throws -> String {
    var bytes: [UInt8] = []
    while more[moreContext].decode(from: &decoder) {
      guard bytes.count < Self.maxBytes else {
        throw CodingError("text", "string longer than \(Self.maxBytes) bytes")
      }
      let base = context * 256
      var node = 1
      for _ in 0..<8 {
        node = node * 2 + (tree[base + node].decode(from: &decoder) ? 1 : 0)
      }
      let byte = UInt8(node - 256)
      bytes.append(byte)
      previous = byte
    }
    previous = 0x20
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw CodingError("text", "decoded bytes are not valid UTF-8")
    }
    return text
  }

  /// Letters, space, other ASCII, non-ASCII: the class of the previous byte.
  private var context: Int {
    switch previous {
    case 0x41...0x5A, 0x61...0x7A: return 0
    case 0x20: return 1
    case 0x80...: return 3
    default: return 2
    }
  }

  private var moreContext: Int { previous == 0x2E ? 1 : 0 }
}
