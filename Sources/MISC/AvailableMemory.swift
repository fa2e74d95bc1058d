import Foundation

/// How much memory a process may still allocate: the least of the system's available memory
/// (`MemAvailable` in /proc/meminfo) and the room left under a cgroup (v2 or v1) limit. nil
/// where neither can be read (macOS), and then no check is made.
public enum AvailableMemory {
  public static func bytes() -> Int? {
    var candidates: [Int] = []
    if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
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

  private static func number(_ path: String) -> Int? {
    (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
  }
}
