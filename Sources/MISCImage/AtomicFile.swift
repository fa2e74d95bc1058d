#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `bytes` to `path` so that readers see either the old file or the complete new one.
///
/// The bytes go to a temporary file in the same directory, are flushed to disk, then renamed
/// over `path` (rename(2) is atomic within a file system). On any failure the temporary file is
/// removed and `path` is untouched; the error is `ImageIOError.unwritable` naming `path`.
/// New files get the usual permissions (0666 less the umask).
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
  guard !path.isEmpty else { throw ImageIOError.unwritable(path: path, reason: "empty path") }
  guard !path.hasSuffix("/") else { throw ImageIOError.unwritable(path: path, reason: "path names a directory") }
  let slash = path.lastIndex(of: "/")
  let directory = slash.map { String(path[...$0]) } ?? ""
  let base = slash.map { String(path[path.index(after: $0)...]) } ?? path

  var generator = SystemRandomNumberGenerator()
  var temporary = ""
  var fd: Int32 = -1
  for _ in 0..<16 {
    let suffix = String(generator.next() as UInt64, radix: 36)
    temporary = "\(directory).\(base).\(suffix).tmp"
    fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    if fd >= 0 || errno != EEXIST { break }
  }
  if fd < 0 { throw ImageIOError.unwritable(path: path, reason: systemError()) }

  func fail(_ reason: String) -> ImageIOError {
    close(fd)
    unlink(temporary)
    return ImageIOError.unwritable(path: path, reason: reason)
  }
  var written = 0
  while written < bytes.count {
    let count = bytes.withUnsafeBytes { buffer in
      write(fd, buffer.baseAddress! + written, buffer.count - written)
    }
    if count < 0 {
      if errno == EINTR { continue }
      throw fail(systemError())
    }
    written += count
  }
  if fsync(fd) != 0 { throw fail(systemError()) }
  if close(fd) != 0 {
    let reason = systemError()
    unlink(temporary)
    throw ImageIOError.unwritable(path: path, reason: reason)
  }
  if rename(temporary, path) != 0 {
    let reason = systemError()
    unlink(temporary)
    throw ImageIOError.unwritable(path: path, reason: reason)
  }
}
