import Foundation
import MISCCoding
import MISCImage

/// Described semantics on disk, one JSON file per key, so that re-encoding an image (at
/// another rate, say) asks the model nothing. Files are written atomically and hold no secrets.
public struct DescribeCache: Sendable, Hashable {
  public var directory: String

  public init(directory: String) {
    self.directory = directory
  }

  /// What a cache file holds: the semantics and what produced them.
  struct Entry: Codable {
    var model: String
    var promptVersion: Int
    var semantics: Semantics
  }

  /// The key: SHA-256 over the image's content hash and every setting that changes the answer.
  public static func key(imageHash: String, configuration: OpenAIDescriber.Configuration) -> String {
    let fields = [
      "misc-describe",
      "image=\(imageHash)",
      "model=\(configuration.model)",
      "endpoint=\(configuration.endpoint?.absoluteString ?? configuration.baseURL)",
      "prompt=\(DescriberPrompt.version)",
      "words=\(configuration.overviewWords)",
      "long-side=\(configuration.longSide)",
      "quality=\(configuration.jpegQuality)",
      "seed=\(configuration.seed)",
    ]
    return SHA256.hex(SHA256.hash(Array(fields.joined(separator: "\n").utf8)))
  }

  /// SHA-256 of the decoded pixels and the size: the same picture from any file has one hash.
  public static func contentHash(_ image: Image) -> String {
    var hasher = SHA256()
    let header = [UInt64(image.width), UInt64(image.height)].flatMap { value in
      (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }
    hasher.update(Array("misc-image-rgb8\n".utf8) + header)
    hasher.update(image.pixels)
    return SHA256.hex(hasher.finalize())
  }

  public func path(for key: String) -> String {
    URL(fileURLWithPath: directory).appendingPathComponent(key + ".json").path
  }

  /// The cached semantics, or nil when absent or unreadable (a damaged entry is a miss).
  public func load(key: String) -> Semantics? {
    guard let data = FileManager.default.contents(atPath: path(for: key)),
          let entry = try? JSONDecoder().decode(Entry.self, from: data)
    else { return nil }
    return entry.semantics
  }

  public func store(_ semantics: Semantics, key: String, model: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(Entry(model: model, promptVersion: DescriberPrompt.version, semantics: semantics))
    try writeFileAtomically(Array(data), to: path(for: key))
  }
}
