import Foundation

/// The static English model of the text coder: trained context tables, state maps and initial
/// mixer weights, loaded once from the package resource `Resources/text-model.bin`.
///
/// File format (little-endian): magic `MISCTXT1`, format version (u32), layout fingerprint (u32),
/// payload length (u32), FNV-1a-64 of the payload (u64), then the payload: the static tables
/// (16-byte nibble blocks: a check byte and 15 node states), the state maps (u16 per state),
/// the mixer weights (i32).
public final class TextModel: Sendable {
  static let magic: [UInt8] = Array("MISCTXT1".utf8)
  static let formatVersion: UInt32 = 1
  static let headerSize = 28
  /// The resource name inside `Resources/`.
  public static let resourceName = "text-model"
  public static let resourceExtension = "bin"

  /// All static tables, concatenated; context i starts at byte `tableOffsets[i]`.
  let tables: [UInt8]
  let tableOffsets: [Int]
  /// Stretched probabilities of the state maps: `mappedCount × 256`.
  let mapStretch: [Int16]
  /// The state maps as stored (16-bit probabilities), kept for the trainer's round trip.
  let maps: [UInt16]
  /// Initial mixer weights: `(mixerSets + mixer2Sets) × inputCount`, 16.16 fixed point.
  let weights: [Int32]
  /// FNV-1a-64 of the payload: identifies the model.
  public let identifier: UInt64

  init(tables: [UInt8], maps: [UInt16], weights: [Int32], identifier: UInt64) {
    precondition(tables.count == TextModelLayout.staticTableBytes)
    precondition(maps.count == TextModelLayout.mappedCount * TextModelLayout.stateCount)
    precondition(weights.count == TextModelLayout.weightCount)
    self.tables = tables
    self.maps = maps
    self.weights = weights
    self.identifier = identifier
    var offsets: [Int] = []
    var offset = 0
    for bits in TextModelLayout.staticBlockBits {
      offsets.append(offset)
      offset += 16 << bits
    }
    tableOffsets = offsets
    mapStretch = maps.map { Int16(TextLogistic.stretch(UInt32($0))) }
  }

  /// Parse a model file; throws if it is not a model for this coder's layout or is corrupt.
  public convenience init(bytes: [UInt8]) throws {
    func fail(_ reason: String) -> CodingError { CodingError("text model", reason) }
    guard bytes.count >= Self.headerSize, Array(bytes[0..<8]) == Self.magic else {
      throw fail("not a text model file (bad magic)")
    }
    func u32(_ at: Int) -> UInt32 {
      UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
    let version = u32(8)
    guard version == Self.formatVersion else { throw fail("format version \(version), expected \(Self.formatVersion)") }
    let fingerprint = u32(12)
    guard fingerprint == TextModelLayout.fingerprint else {
      throw fail("layout fingerprint \(fingerprint) does not match the coder's \(TextModelLayout.fingerprint)")
    }
    let length = Int(u32(16))
    let hash = UInt64(u32(20)) | UInt64(u32(24)) << 32
    let tableBytes = TextModelLayout.staticTableBytes
    let mapCount = TextModelLayout.mappedCount * TextModelLayout.stateCount
    let weightCount = TextModelLayout.weightCount
    guard length == tableBytes + 2 * mapCount + 4 * weightCount, bytes.count == Self.headerSize + length else {
      throw fail("payload length \(bytes.count - Self.headerSize) does not match the layout")
    }
    let payload = bytes[Self.headerSize...]
    guard TextHash.fnv1a64(payload) == hash else { throw fail("payload hash mismatch (corrupt model)") }
    var at = Self.headerSize
    let tables = Array(bytes[at..<(at + tableBytes)])
    at += tableBytes
    var maps = [UInt16](repeating: 0, count: mapCount)
    for i in 0..<mapCount { maps[i] = UInt16(bytes[at + 2 * i]) | UInt16(bytes[at + 2 * i + 1]) << 8 }
    at += 2 * mapCount
    var weights = [Int32](repeating: 0, count: weightCount)
    for i in 0..<weightCount { weights[i] = Int32(bitPattern: u32(at + 4 * i)) }
    self.init(tables: tables, maps: maps, weights: weights, identifier: hash)
  }

  /// The model file's bytes.
  public func serialized() -> [UInt8] {
    var payload = tables
    payload.reserveCapacity(tables.count + 2 * maps.count + 4 * weights.count)
    for m in maps { payload.append(UInt8(m & 0xFF)); payload.append(UInt8(m >> 8)) }
    for w in weights {
      let u = UInt32(bitPattern: w)
      for s in stride(from: 0, to: 32, by: 8) { payload.append(UInt8(truncatingIfNeeded: u >> UInt32(s))) }
    }
    var out = Self.magic
    func put(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
    put(Self.formatVersion)
    put(TextModelLayout.fingerprint)
    put(UInt32(payload.count))
    let hash = TextHash.fnv1a64(payload)
    put(UInt32(truncatingIfNeeded: hash))
    put(UInt32(truncatingIfNeeded: hash >> 32))
    return out + payload
  }

  /// The model shipped with the package, loaded on first use (thread-safe, once per process).
  public static let shared: Result<TextModel, CodingError> = {
    guard let url = resourceURL else {
      return .failure(CodingError("text model", "resource \(resourceName).\(resourceExtension) not found in the MISCCoding bundle"))
    }
    do {
      let data = try Data(contentsOf: url)
      return .success(try TextModel(bytes: [UInt8](data)))
    } catch let error as CodingError {
      return .failure(error)
    } catch {
      return .failure(CodingError("text model", "cannot read \(url.path): \(error)"))
    }
  }()

  /// Where the resource lies in the bundle.
  public static var resourceURL: URL? {
    Bundle.module.url(forResource: resourceName, withExtension: resourceExtension, subdirectory: "Resources")
      ?? Bundle.module.url(forResource: resourceName, withExtension: resourceExtension)
  }

  /// The shipped model; a missing or corrupt resource is a packaging error, not an input error.
  static var sharedOrDie: TextModel {
    switch shared {
    case .success(let model): return model
    case .failure(let error): fatalError("MISC text model unavailable: \(error)")
    }
  }
}
