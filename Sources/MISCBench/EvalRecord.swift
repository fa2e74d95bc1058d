import Foundation

/// One line of `records.jsonl`: one codec on one image at one target rate.
public struct EvalRecord: Codable, Sendable, Equatable {
  public var dataset: String
  /// The image's file name without its extension.
  public var image: String
  /// The codec's id (`EvalCodec.id`).
  public var codec: String
  /// The target in bits per pixel (a MISC level's own rate; 0 for an external codec without a target).
  public var rate: Double
  public var width: Int
  public var height: Int
  /// The real file size, and the rate it gives over the original's pixels.
  public var bytes: Int?
  public var bitsPerPixel: Double?
  /// False when the codec could not get within the target and ran at its smallest setting.
  public var reachedTarget: Bool?
  /// Metric scores by `MetricID.rawValue`.
  public var metrics: [String: Double]
  /// Why a metric could not score this decode (NIQE on a flat image), by `MetricID.rawValue`;
  /// the record's other metrics stand. Nil when every metric scored.
  public var metricErrors: [String: String]?
  /// The weights behind each network metric, by `MetricID.rawValue`.
  public var models: [String: String]
  public var encodeSeconds: Double?
  public var decodeSeconds: Double?
  /// The codec's version and the settings chosen ("cwebp 1.2.4", "q37").
  public var codecVersion: String?
  public var settings: String?
  /// Why this image failed with this codec; nil on success.
  public var error: String?

  public init(dataset: String, image: String, codec: String, rate: Double, width: Int, height: Int) {
    self.dataset = dataset
    self.image = image
    self.codec = codec
    self.rate = rate
    self.width = width
    self.height = height
    self.metrics = [:]
    self.models = [:]
  }

  /// What identifies a record: a rerun skips the keys already done.
  public var key: String { EvalRecord.key(dataset: dataset, image: image, codec: codec, rate: rate) }

  public static func key(dataset: String, image: String, codec: String, rate: Double) -> String {
    "\(dataset)/\(image)/\(codec)/\(String(format: "%.6g", rate))"
  }

  /// The record without its wall times (for comparing two runs).
  public var withoutTimes: EvalRecord {
    var copy = self
    copy.encodeSeconds = nil
    copy.decodeSeconds = nil
    return copy
  }
}

/// The run's records as JSON lines: each record is appended with one `write` of a whole line
/// under `O_APPEND`, then `fsync`, so a killed run leaves whole lines only (a torn last line is
/// dropped on the next open). The last line for a key wins.
public actor EvalStore {
  public let path: String
  private var records: [String: EvalRecord] = [:]
  private var order: [String] = []

  /// Opens (or creates) the store at `path`; `fresh` discards what is there.
  public init(path: String, fresh: Bool) throws {
    self.path = path
    let manager = FileManager.default
    try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    if fresh { try? manager.removeItem(atPath: path) }
    guard manager.fileExists(atPath: path) else { return }
    var data = try Data(contentsOf: URL(fileURLWithPath: path))
    if let last = data.last, last != UInt8(ascii: "\n") {
      // A torn last line from a killed run: cut it off so the next append starts a clean line.
      let end = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
      data = data.prefix(end)
      try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
    let decoder = JSONDecoder()
    for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
      guard let record = try? decoder.decode(EvalRecord.self, from: Data(line)) else { continue }
      if records.updateValue(record, forKey: record.key) == nil { order.append(record.key) }
    }
  }

  /// The stored record for `key`, if any.
  public func record(_ key: String) -> EvalRecord? { records[key] }

  /// Every record, in the order their keys were first written.
  public func all() -> [EvalRecord] { order.compactMap { records[$0] } }

  /// Appends `record` durably.
  public func append(_ record: EvalRecord) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var line = try encoder.encode(record)
    line.append(UInt8(ascii: "\n"))
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    guard fd >= 0 else { throw BenchError("\(path): cannot open for appending (errno \(errno))") }
    defer { close(fd) }
    let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == line.count else { throw BenchError("\(path): short write (\(written) of \(line.count) bytes)") }
    guard fsync(fd) == 0 else { throw BenchError("\(path): fsync failed (errno \(errno))") }
    if records.updateValue(record, forKey: record.key) == nil { order.append(record.key) }
  }
}
