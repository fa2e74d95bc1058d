#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `bytes` to `path` so that readers see either the old file or the complete new one,
/// and so that nothing but a regular file's contents is ever replaced.
///
/// - A path that names an existing non-regular file (a FIFO, a device, a socket) is opened and
///   written to as it is: `-o /dev/stdout` or a named pipe works, and the node stays.
/// - A symlink is followed: the file it points to gets the new contents, the link stays.
/// - Otherwise the bytes go to a temporary file in the target's directory, are flushed to disk,
///   then renamed over it (atomic within a file system). With `replacing: false` the temporary
///   file is instead linked to the name, which fails if the name exists: the check and the
///   write are one step, so a file that appears meanwhile is never overwritten.
///
/// On any failure the temporary file is removed and `path` is untouched; the error is
/// `ImageIOError.unwritable` naming `path`. New files get the usual permissions (0666 less the
/// umask).
public func writeFileAtomically(_ bytes: [UInt8], to path: String, replacing: Bool = true) throws {
  guard !path.isEmpty else { throw ImageIOError.unwritable(path: path, reason: "empty path") }
  guard !path.hasSuffix("/") else { throw ImageIOError.unwritable(path: path, reason: "path names a directory") }
  let target = try followingSymlinks(path)
  var info = stat()
  if stat(target, &info) == 0 {
    let type = info.st_mode & S_IFMT
    if type == S_IFDIR { throw ImageIOError.unwritable(path: path, reason: "is a directory") }
    if type != S_IFREG {
      try writeThrough(bytes, to: target, reportedAs: path)
      return
    }
    if !replacing { throw ImageIOError.unwritable(path: path, reason: "file exists") }
  }
  try replaceAtomically(bytes, at: target, replacing: replacing, reportedAs: path)
}

/// Whether `path` names an existing file other than a regular file or a directory (after
/// following symlinks): a FIFO, a device or a socket, which writers open rather than replace.
public func isSpecialFile(_ path: String) -> Bool {
  var info = stat()
  guard stat(path, &info) == 0 else { return false }
  let type = info.st_mode & S_IFMT
  return type != S_IFREG && type != S_IFDIR
}

/// `path` with every symlink in its last component followed (at most 40 links, as the kernel
/// allows); a dangling link resolves to the name it points at, which the write then creates.
func followingSymlinks(_ path: String) throws -> String {
  var current = path
  for _ in 0..<40 {
    var info = stat()
    guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return current }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink(current, &buffer, buffer.count - 1)
    if count < 0 { throw ImageIOError.unwritable(path: path, reason: systemError()) }
    let link = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    if link.hasPrefix("/") {
      current = link
    } else {
      let slash = current.lastIndex(of: "/")
      current = (slash.map { String(current[...$0]) } ?? "") + link
    }
  }
  throw ImageIOError.unwritable(path: path, reason: systemError(ELOOP))
}

/// Writes into an existing FIFO, device or socket without creating or renaming anything.
private func writeThrough(_ bytes: [UInt8], to target: String, reportedAs path: String) throws {
  let fd = open(target, O_WRONLY | O_CLOEXEC)
  if fd < 0 { throw ImageIOError.unwritable(path: path, reason: systemError()) }
  do {
    try writeAll(bytes, to: fd)
  } catch let reason as SystemReason {
    close(fd)
    throw ImageIOError.unwritable(path: path, reason: reason.message)
  }
  if close(fd) != 0 { throw ImageIOError.unwritable(path: path, reason: systemError()) }
}

private func replaceAtomically(_ bytes: [UInt8], at target: String, replacing: Bool, reportedAs path: String) throws {
  let slash = target.lastIndex(of: "/")
  let directory = slash.map { String(target[...$0]) } ?? ""
  let base = slash.map { String(target[target.index(after: $0)...]) } ?? target

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
  do {
    try writeAll(bytes, to: fd)
  } catch let reason as SystemReason {
    throw fail(reason.message)
  }
  if fsync(fd) != 0 { throw fail(systemError()) }
  if close(fd) != 0 {
    let reason = systemError()
    unlink(temporary)
    throw ImageIOError.unwritable(path: path, reason: reason)
  }
  if replacing {
    if rename(temporary, target) != 0 {
      let reason = systemError()
      unlink(temporary)
      throw ImageIOError.unwritable(path: path, reason: reason)
    }
    return
  }
  // link(2) fails with EEXIST when the name exists: an atomic "create, never replace".
  if link(temporary, target) != 0 {
    let code = errno
    // File systems without hard links (FAT, some FUSE mounts): check, then rename.
    var info = stat()
    if code != EEXIST && lstat(target, &info) != 0 && rename(temporary, target) == 0 { return }
    unlink(temporary)
    throw ImageIOError.unwritable(path: path, reason: code == EEXIST ? "file exists" : systemError(code))
  }
  unlink(temporary)
}

private struct SystemReason: Error {
  var message: String
}

private func writeAll(_ bytes: [UInt8], to fd: Int32) throws {
  var written = 0
  while written < bytes.count {
    let count = bytes.withUnsafeBytes { buffer in
      write(fd, buffer.baseAddress! + written, buffer.count - written)
    }
    if count < 0 {
      if errno == EINTR { continue }
      throw SystemReason(message: systemError())
    }
    written += count
  }
}
