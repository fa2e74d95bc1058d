/// How much memory a process may still allocate: the least of the system's available memory
/// (`MemAvailable` in /proc/meminfo) and the room left under a cgroup (v2 or v1) limit. nil
/// where neither can be read (macOS), and then no check is made.
public enum AvailableMemory {
  public static func bytes() -> Int? {
    var candidates: [Int] = []
    if let meminfo = text("/proc/meminfo"),
       let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
       let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
      candidates.append(kilobytes * 1024)
    }
    for (limitPath, usagePath) in [("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")] {
      if let limit = number(limitPath), let usage = number(usagePath), limit < 1 << 60 {
        candidates.append(max(0, limit - usage))
        break
      }
    }
    return candidates.min()
  }

  /// Refuses, with `ImageIOError.notEnoughMemory`, an image of `width`x`height` that needs
  /// `bytesPerPixel` bytes a pixel when that is more than is available.
  public static func check(width: Int, height: Int, bytesPerPixel: Int, name: String, available: Int? = bytes()) throws {
    guard let available else { return }
    let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
    let (needed, overflow2) = pixels.multipliedReportingOverflow(by: bytesPerPixel)
    if overflow || overflow2 || needed > available {
      throw ImageIOError.notEnoughMemory(path: name, width: width, height: height,
                                         needed: overflow || overflow2 ? Int.max : needed, available: available)
    }
  }

  private static func text(_ path: String) -> String? {
    (try? readFileBytes(path, maxBytes: 1 << 20)).map { String(decoding: $0, as: UTF8.self) }
  }

  private static func number(_ path: String) -> Int? {
    text(path).flatMap { Int($0.filter { !$0.isWhitespace }) }
  }
}
