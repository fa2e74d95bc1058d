import Foundation
import MISC

/// One codec of `misc eval`: a MISC level, a reference codec in one of its two modes, or an
/// external command pair.
public enum EvalCodec: Sendable, Hashable, CustomStringConvertible {
  /// MISC at a preset level (its own rate: 0.0225, 0.03 or 0.047 bpp), or at each `--bpp` when nil.
  case misc(Level?)
  /// A reference codec at matched rate; `downscaled` codes at 1/2, 1/4 or 1/8 size.
  case reference(ReferenceCodec, downscaled: Bool)
  /// Any other codec: shell templates with `{input}`, `{bitstream}`, `{output}` and optionally
  /// `{bpp}` and `{bytes}` (the target); the rate is the bitstream's real size.
  case external(name: String, encode: String, decode: String)

  /// The name in the records and on the command line: misc, misc1, webp, webp-down, NAME.
  public var id: String {
    switch self {
    case let .misc(level): level.map { "misc\($0.rawValue)" } ?? "misc"
    case let .reference(codec, downscaled): codec.rawValue + (downscaled ? "-down" : "")
    case let .external(name, _, _): name
    }
  }

  /// The name a table prints.
  public var label: String {
    switch self {
    case let .misc(level): level.map(\.description) ?? "MISC"
    case let .reference(codec, downscaled):
      (codec == .heic ? "HEIC" : codec == .avif ? "AVIF" : codec.label) + (downscaled ? " ↓" : "")
    case let .external(name, _, _): name
    }
  }

  public var description: String { id }

  /// The target rates this codec runs at, given the run's `--bpp` list. A MISC level runs once,
  /// at its own rate; an external codec without `{bpp}` or `{bytes}` runs once, keyed 0.
  public func rates(_ bpp: [Double]) -> [Double] {
    switch self {
    case let .misc(level?): [level.bitsPerPixel]
    case let .external(_, encode, _) where !encode.contains("{bpp}") && !encode.contains("{bytes}"): [0]
    default: bpp
    }
  }

  /// The command-line tools it needs.
  public var tools: [String] {
    if case let .reference(codec, _) = self { return codec.tools }
    return []
  }

  /// The reference codecs `misc eval` offers (av1, the bare payload, is the thumbnail bench's view).
  public static let referenceCodecs: [ReferenceCodec] = [.jpeg, .webp, .avif, .jxl, .heic]

  /// Parses `--codec` names. A reference codec name gives both modes unless `modes` says otherwise;
  /// `NAME-down` asks for the downscaled mode alone. External codecs are added by name.
  public static func parse(_ list: String, modes: Set<Bool> = [false, true], external: [EvalCodec] = []) throws -> [EvalCodec] {
    var codecs: [EvalCodec] = []
    func add(_ codec: EvalCodec) { if !codecs.contains(codec) { codecs.append(codec) } }
    for name in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !name.isEmpty {
      if name == "misc" {
        add(.misc(nil))
      } else if name.hasPrefix("misc"), let n = Int(name.dropFirst(4)), let level = Level(rawValue: n) {
        add(.misc(level))
      } else if let codec = ReferenceCodec(rawValue: name), referenceCodecs.contains(codec) {
        for downscaled in [false, true] where modes.contains(downscaled) { add(.reference(codec, downscaled: downscaled)) }
      } else if name.hasSuffix("-down"), let codec = ReferenceCodec(rawValue: String(name.dropLast(5))), referenceCodecs.contains(codec) {
        add(.reference(codec, downscaled: true))
      } else if let codec = external.first(where: { $0.id.lowercased() == name }) {
        add(codec)
      } else {
        let known = ["misc", "misc1", "misc2", "misc3"] + referenceCodecs.map(\.rawValue) + external.map(\.id)
        throw BenchError("unknown codec '\(name)' (known: \(known.joined(separator: ", ")), or NAME-down for the downscaled mode alone)")
      }
    }
    for codec in external where !codecs.contains(codec) { codecs.append(codec) }
    return codecs
  }

  /// Parses `NAME=ENCODE;DECODE`.
  public static func parseExternal(_ text: String) throws -> EvalCodec {
    guard let equals = text.firstIndex(of: "=") else { throw BenchError("--external '\(text)': expected NAME='ENCODE;DECODE'") }
    let name = text[..<equals].trimmingCharacters(in: .whitespaces)
    let commands = text[text.index(after: equals)...]
    guard let semicolon = commands.firstIndex(of: ";") else {
      throw BenchError("--external '\(text)': the encode and decode commands are separated by ';'")
    }
    let encode = commands[..<semicolon].trimmingCharacters(in: .whitespaces)
    let decode = commands[commands.index(after: semicolon)...].trimmingCharacters(in: .whitespaces)
    guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
      throw BenchError("--external '\(text)': the name must be letters, digits, '-', '_' or '.'")
    }
    guard encode.contains("{input}"), encode.contains("{bitstream}") else {
      throw BenchError("--external \(name): the encode command must use {input} and {bitstream}")
    }
    guard decode.contains("{bitstream}"), decode.contains("{output}") else {
      throw BenchError("--external \(name): the decode command must use {bitstream} and {output}")
    }
    return .external(name: name, encode: encode, decode: decode)
  }
}
