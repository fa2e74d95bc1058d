#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole contents of the file at `path`; errors name the path and the system's reason.
/// Refuses files (or endless streams) longer than `maxBytes` instead of reading without bound.
public func readFileBytes(_ path: String, maxBytes: Int = Int.max) throws -> [UInt8] {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  if fd < 0 { throw ImageIOError.unreadable(path: path, reason: systemError()) }
  defer { close(fd) }
  var info = stat()
  if fstat(fd, &info) != 0 { throw ImageIOError.unreadable(path: path, reason: systemError()) }
  if (info.st_mode & S_IFMT) == S_IFDIR { throw ImageIOError.unreadable(path: path, reason: "is a directory") }
  var bytes: [UInt8] = []
  let size = Int(info.st_size)
  if size > maxBytes {
    throw ImageIOError.unreadable(path: path, reason: "file is \(size) bytes, more than the limit of \(maxBytes)")
  }
  bytes.reserveCapacity(max(0, size))
  var chunk = [UInt8](repeating: 0, count: 1 << 16)
  while true {
    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if count < 0 {
      if errno == EINTR { continue }
      throw ImageIOError.unreadable(path: path, reason: systemError())
    }
    if count == 0 { break }
    if count > maxBytes - bytes.count {
      throw ImageIOError.unreadable(path: path, reason: "file is more than the limit of \(maxBytes) bytes")
    }
    bytes.append(contentsOf: chunk[0..<count])
  }
  return bytes
}

/// The current `errno` as a readable message.
func systemError(_ code: Int32 = errno) -> String {
  String(cString: strerror(code))
}
