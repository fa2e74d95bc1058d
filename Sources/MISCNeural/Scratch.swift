import Foundation

/// A float buffer kept per thread for the convolutions' scratch (im2col columns, Winograd's transformed
/// tiles), so that a layer does not map, fault in and zero fresh pages on every call: glibc serves blocks of
/// this size with mmap, and the page faults and clearing cost several percent of a small network's time.
/// At most `retainedLimit` floats stay allocated per thread; a larger request gets a buffer of its own.
enum Scratch {
  /// 32 MB.
  static let retainedLimit = 1 << 23

  private final class Buffer {
    var pointer: UnsafeMutablePointer<Float>
    var capacity: Int
    /// Set while a caller holds the buffer, so that a nested request gets a buffer of its own.
    var inUse = false

    init(capacity: Int) {
      pointer = .allocate(capacity: capacity)
      self.capacity = capacity
    }

    deinit { pointer.deallocate() }
  }

  private static let key = "MISCNeural.Scratch"

  /// Calls `body` with at least `count` uninitialised floats, valid until it returns.
  static func withBuffer<Result>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> Result) rethrows -> Result {
    let count = max(1, count)
    let dictionary = Thread.current.threadDictionary
    let buffer = dictionary[key] as? Buffer
    guard count <= retainedLimit, buffer?.inUse != true else {
      let pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
      defer { pointer.deallocate() }
      return try body(pointer)
    }
    let held: Buffer
    if let buffer, buffer.capacity >= count {
      held = buffer
    } else {
      held = Buffer(capacity: count)
      dictionary[key] = held
    }
    held.inUse = true
    defer { held.inUse = false }
    return try body(held.pointer)
  }
}
