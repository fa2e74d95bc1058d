import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A memory-mapped `.safetensors` file: an 8-byte little-endian header length, a JSON header naming
/// each tensor's dtype, shape and byte range, then the data.
///
/// Everything the header claims is checked against the file before any tensor is allocated: the header
/// length, each shape's byte count (overflow-checked), and that the ranges tile the data exactly, with no
/// overlap, hole or overrun. Tensors are converted to Float32 when read (F32, F16, BF16, F64).
public final class SafeTensorsFile: TensorSource, @unchecked Sendable {
  /// Element types of the format; the float ones can be read.
  public enum DType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
    case bool = "BOOL", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"

    public var byteSize: Int {
      switch self {
      case .f64, .i64, .u64: return 8
      case .f32, .i32, .u32: return 4
      case .f16, .bf16, .i16, .u16: return 2
      case .i8, .u8, .bool, .f8e5m2, .f8e4m3: return 1
      }
    }
  }

  /// One tensor's header entry.
  public struct Entry: Sendable, Hashable {
    public var dtype: DType
    public var shape: [Int]
    /// Byte range within the data section.
    public var range: Range<Int>
  }

  /// The largest header accepted (the format's own limit).
  public static let maxHeaderLength = 100_000_000

  public let path: String
  public let entries: [String: Entry]
  /// The header's `__metadata__` strings.
  public let metadata: [String: String]
  private let mapping: UnsafeRawPointer
  private let mappedLength: Int
  private let dataOffset: Int

  public init(path: String) throws {
    self.path = path
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw SafeTensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw SafeTensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw SafeTensorsError.cannotOpen(path: path, reason: "not a regular file") }
    let size = Int(info.st_size)
    guard size >= 8 else { throw SafeTensorsError.truncated(path: path, size: size) }
    guard let raw = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), raw != MAP_FAILED else {
      throw SafeTensorsError.cannotOpen(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
    }
    let base = UnsafeRawPointer(raw)
    do {
      let parsed = try Self.parseHeader(base: base, size: size, path: path)
      self.entries = parsed.entries
      self.metadata = parsed.metadata
      self.dataOffset = parsed.dataOffset
    } catch {
      munmap(raw, size)
      throw error
    }
    self.mapping = base
    self.mappedLength = size
  }

  /// The tensors a safetensors header in `bytes` declares, with every check of `init(path:)`
  /// (the fuzz target's entry point: no file, no mapping).
  public static func entries(parsing bytes: [UInt8]) throws -> [String: Entry] {
    guard bytes.count >= 8 else { throw SafeTensorsError.truncated(path: "<bytes>", size: bytes.count) }
    return try bytes.withUnsafeBytes { try parseHeader(base: $0.baseAddress!, size: bytes.count, path: "<bytes>").entries }
  }

  deinit {
    munmap(UnsafeMutableRawPointer(mutating: mapping), mappedLength)
  }

  public var sourceDescription: String { path }
  public var tensorNames: [String] { entries.keys.sorted() }
  public func shape(of name: String) -> [Int]? { entries[name]?.shape }

  public func tensor(_ name: String) throws -> Tensor {
    guard let entry = entries[name] else { throw TensorSourceError.missingTensor(name: name, source: path) }
    let count = Tensor.count(of: entry.shape)
    let src = mapping + dataOffset + entry.range.lowerBound
    // The copy is all a model keeps: drop the mapped pages from the resident set, or loading a model
    // would hold it twice (a later read faults them back in from the page cache).
    defer { releasePages(entry.range) }
    switch entry.dtype {
    case .f32:
      return Tensor(shape: entry.shape) { out in
        UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(start: src, count: count * 4))
      }
    case .f16:
      return Tensor(shape: entry.shape) { out in
        for i in 0..<count { out[i] = Self.float(half: src.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian) }
      }
    case .bf16:
      return Tensor(shape: entry.shape) { out in
        for i in 0..<count {
          out[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian) << 16)
        }
      }
    case .f64:
      return Tensor(shape: entry.shape) { out in
        for i in 0..<count {
          out[i] = Float(Double(bitPattern: src.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian))
        }
      }
    default:
      throw TensorSourceError.unsupportedDType(name: name, source: path, dtype: entry.dtype.rawValue)
    }
  }

  /// Tells the kernel this process no longer needs the mapped pages of a tensor's bytes.
  private func releasePages(_ range: Range<Int>) {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    guard page > 0, !range.isEmpty else { return }
    let base = Int(bitPattern: mapping)
    let start = (base + dataOffset + range.lowerBound) / page * page
    let end = min(base + mappedLength, base + dataOffset + range.upperBound)
    guard end > start else { return }
    _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED)
  }

  /// IEEE 754 binary16 to Float, subnormals included.
  @inline(__always)
  static func float(half h: UInt16) -> Float {
    let sign: Float = h & 0x8000 != 0 ? -1 : 1
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h) & 0x3FF
    if exponent == 0 { return sign * Float(mantissa) * 0x1p-24 }
    let signBit = UInt32(h & 0x8000) << 16
    if exponent == 31 { return Float(bitPattern: signBit | 0x7F80_0000 | (mantissa << 13)) }
    return Float(bitPattern: signBit | ((exponent + 112) << 23) | (mantissa << 13))
  }

  private static func parseHeader(base: UnsafeRawPointer, size: Int, path: String) throws
    -> (entries: [String: Entry], metadata: [String: String], dataOffset: Int)
  {
    let declared = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
    guard declared <= UInt64(maxHeaderLength), Int(declared) <= size - 8 else {
      throw SafeTensorsError.headerLength(path: path, length: declared, fileSize: size)
    }
    let headerLength = Int(declared)
    let header = Data(bytes: base + 8, count: headerLength)
    let root: HeaderValue
    do {
      root = try JSONDecoder().decode(HeaderValue.self, from: header)
    } catch {
      throw SafeTensorsError.badHeader(path: path, reason: "the header is not valid JSON")
    }
    guard case .object(let dictionary) = root else {
      throw SafeTensorsError.badHeader(path: path, reason: "the header is not a JSON object")
    }
    let dataOffset = 8 + headerLength
    let dataSize = size - dataOffset
    var entries: [String: Entry] = [:]
    var metadata: [String: String] = [:]
    for (name, value) in dictionary {
      if name == "__metadata__" {
        guard case .object(let strings) = value else {
          throw SafeTensorsError.badHeader(path: path, reason: "__metadata__ is not an object")
        }
        for (key, item) in strings { if case .string(let text) = item { metadata[key] = text } }
        continue
      }
      guard case .object(let fields) = value else {
        throw SafeTensorsError.badEntry(path: path, name: name, reason: "the entry is not an object")
      }
      guard case .string(let dtypeName)? = fields["dtype"] else {
        throw SafeTensorsError.badEntry(path: path, name: name, reason: "no dtype")
      }
      guard let dtype = DType(rawValue: dtypeName) else {
        throw SafeTensorsError.unknownDType(path: path, name: name, dtype: dtypeName)
      }
      guard let shape = integers(fields["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
        throw SafeTensorsError.badEntry(path: path, name: name, reason: "the shape is not a list of non-negative integers")
      }
      guard let offsets = integers(fields["data_offsets"]), offsets.count == 2 else {
        throw SafeTensorsError.badEntry(path: path, name: name, reason: "data_offsets is not two integers")
      }
      let (begin, end) = (offsets[0], offsets[1])
      guard begin >= 0, begin <= end, end <= dataSize else {
        throw SafeTensorsError.offsetsOutOfBounds(path: path, name: name, begin: begin, end: end, dataSize: dataSize)
      }
      var bytes = dtype.byteSize
      for extent in shape {
        let (product, overflow) = bytes.multipliedReportingOverflow(by: extent)
        guard !overflow, product <= dataSize else {
          throw SafeTensorsError.sizeMismatch(path: path, name: name, shape: shape, dtype: dtypeName, expectedBytes: nil, actualBytes: end - begin)
        }
        bytes = product
      }
      guard bytes == end - begin else {
        throw SafeTensorsError.sizeMismatch(path: path, name: name, shape: shape, dtype: dtypeName, expectedBytes: bytes, actualBytes: end - begin)
      }
      entries[name] = Entry(dtype: dtype, shape: shape, range: begin..<end)
    }
    // The ranges must tile the data section: sorted, each starting where the previous ended.
    var position = 0
    var previous = "(start of data)"
    for (name, entry) in entries.sorted(by: { ($0.value.range.lowerBound, $0.value.range.upperBound, $0.key) < ($1.value.range.lowerBound, $1.value.range.upperBound, $1.key) }) {
      if entry.range.lowerBound < position {
        throw SafeTensorsError.overlapping(path: path, name: name, other: previous)
      }
      if entry.range.lowerBound > position {
        throw SafeTensorsError.hole(path: path, offset: position, next: name)
      }
      position = entry.range.upperBound
      previous = name
    }
    guard position == dataSize else {
      throw SafeTensorsError.trailingData(path: path, used: position, dataSize: dataSize)
    }
    return (entries, metadata, dataOffset)
  }

  /// A JSON array of integers, or nil.
  private static func integers(_ value: HeaderValue?) -> [Int]? {
    guard case .array(let items)? = value else { return nil }
    var result: [Int] = []
    for item in items {
      guard case .integer(let number) = item else { return nil }
      result.append(number)
    }
    return result
  }
}

/// A parsed JSON value of a safetensors header; integers are kept apart from other numbers.
private enum HeaderValue: Decodable {
  case null, bool(Bool), integer(Int), number(Double), string(String)
  case array([HeaderValue]), object([String: HeaderValue])

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() { self = .null }
    else if let value = try? container.decode(Bool.self) { self = .bool(value) }
    else if let value = try? container.decode(Int.self) { self = .integer(value) }
    else if let value = try? container.decode(Double.self) { self = .number(value) }
    else if let value = try? container.decode(String.self) { self = .string(value) }
    else if let value = try? container.decode([HeaderValue].self) { self = .array(value) }
    else { self = .object(try container.decode([String: HeaderValue].self)) }
  }
}

/// A `.safetensors` file that cannot be used, and where it went wrong.
public enum SafeTensorsError: Error, CustomStringConvertible, Sendable, Equatable {
  case cannotOpen(path: String, reason: String)
  case truncated(path: String, size: Int)
  case headerLength(path: String, length: UInt64, fileSize: Int)
  case badHeader(path: String, reason: String)
  case badEntry(path: String, name: String, reason: String)
  case unknownDType(path: String, name: String, dtype: String)
  case offsetsOutOfBounds(path: String, name: String, begin: Int, end: Int, dataSize: Int)
  case sizeMismatch(path: String, name: String, shape: [Int], dtype: String, expectedBytes: Int?, actualBytes: Int)
  case overlapping(path: String, name: String, other: String)
  case hole(path: String, offset: Int, next: String)
  case trailingData(path: String, used: Int, dataSize: Int)

  public var description: String {
    switch self {
    case let .cannotOpen(path, reason):
      return "cannot open safetensors file \(path): \(reason)"
    case let .truncated(path, size):
      return "\(path): \(size) bytes is too short for a safetensors file (it starts with an 8-byte header length)"
    case let .headerLength(path, length, fileSize):
      return "\(path): the header length \(length) does not fit in the \(fileSize)-byte file (limit \(SafeTensorsFile.maxHeaderLength))"
    case let .badHeader(path, reason):
      return "\(path): bad safetensors header: \(reason)"
    case let .badEntry(path, name, reason):
      return "\(path): bad header entry for tensor '\(name)': \(reason)"
    case let .unknownDType(path, name, dtype):
      return "\(path): tensor '\(name)' has unknown dtype '\(dtype)'"
    case let .offsetsOutOfBounds(path, name, begin, end, dataSize):
      return "\(path): tensor '\(name)' claims bytes \(begin)..<\(end) of a \(dataSize)-byte data section"
    case let .sizeMismatch(path, name, shape, dtype, expected, actual):
      let need = expected.map { "\($0) bytes" } ?? "more bytes than the file holds"
      return "\(path): tensor '\(name)' (\(dtype) \(shape)) needs \(need) but its offsets span \(actual)"
    case let .overlapping(path, name, other):
      return "\(path): the data of tensor '\(name)' overlaps that of '\(other)'"
    case let .hole(path, offset, next):
      return "\(path): unindexed bytes in the data section at offset \(offset), before tensor '\(next)'"
    case let .trailingData(path, used, dataSize):
      return "\(path): the tensors cover \(used) of the \(dataSize) data bytes; the rest is unindexed"
    }
  }
}
