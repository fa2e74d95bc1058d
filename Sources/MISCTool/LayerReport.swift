import MISC
import MISCCoding

/// The per-layer bit budget of a file, as text and as JSON.
struct LayerReport: Codable {
  struct Layer: Codable {
    var name: String
    var bits: Double
    var bytes: Double
  }

  var fileBytes: Int
  var bitsPerPixel: Double
  var layers: [Layer]
  /// Bits per word of the coded text (overview, names, details together); nil without text or
  /// when the text has no spaces (Chinese, Japanese, emoji: a "word" would be a whole string).
  var textBitsPerWord: Double?
  /// Bits per character (Unicode grapheme) of the coded text; nil without text.
  var textBitsPerCharacter: Double?

  init(fileBytes: Int, width: Int, height: Int, layers bits: Container.LayerBits, texts: [String]) {
    self.fileBytes = fileBytes
    bitsPerPixel = Double(fileBytes * 8) / Double(width * height)
    layers = [
      ("thumbnail", bits.thumbnail), ("overview", bits.overview), ("names", bits.names),
      ("details", bits.details), ("maps", bits.maps), ("framing", bits.framing),
    ].map { Layer(name: $0.0, bits: $0.1, bytes: $0.1 / 8) }
    let textBits = bits.overview + bits.names + bits.details
    let words = wordCount(texts)
    let characters = texts.reduce(0) { $0 + $1.count }
    let spaced = texts.contains { $0.contains { $0.isWhitespace } }
    textBitsPerWord = words > 0 && spaced ? textBits / Double(words) : nil
    textBitsPerCharacter = characters > 0 ? textBits / Double(characters) : nil
  }

  /// One line per layer: bytes, bits and share of the file.
  var lines: [String] {
    var out = layers.map { layer in
      let share = fileBytes > 0 ? layer.bytes / Double(fileBytes) * 100 : 0
      return "  \(pad(layer.name, 10)) \(pad(format(layer.bytes, 1), 8, left: true)) B  \(pad(format(layer.bits, 1), 8, left: true)) bits  \(pad(format(share, 1), 5, left: true))%"
    }
    out.append("  \(pad("total", 10)) \(pad(String(fileBytes), 8, left: true)) B  \(pad(String(fileBytes * 8), 8, left: true)) bits  \(format(bitsPerPixel, 4)) bpp")
    if let textBitsPerCharacter {
      let perWord = textBitsPerWord.map { "\(format($0, 2)) bits per word, " } ?? ""
      out.append("  text: \(perWord)\(format(textBitsPerCharacter, 2)) bits per character")
    }
    return out
  }
}

/// Words as the text coder's benchmark counts them: runs separated by whitespace.
func wordCount(_ texts: [String]) -> Int {
  texts.reduce(0) { $0 + $1.split(whereSeparator: { $0.isWhitespace }).count }
}

func format(_ value: Double, _ decimals: Int) -> String {
  String(format: "%.\(decimals)f", value)
}

func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
  let fill = String(repeating: " ", count: max(0, width - s.count))
  return left ? fill + s : s + fill
}

import Foundation
