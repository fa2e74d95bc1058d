/// Just enough ISO base media file format parsing to find a box's payload: the bare AV1
/// bitstream of an AVIF file is the contents of its top-level `mdat` box.
public enum ISOBMFF {
  /// The payload of the first top-level box of type `type` (e.g. "mdat"), or nil if absent
  /// or the file is malformed.
  public static func payload(of type: String, in bytes: [UInt8]) -> ArraySlice<UInt8>? {
    let wanted = Array(type.utf8)
    var offset = 0
    while offset + 8 <= bytes.count {
      var size = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
      var header = 8
      if size == 1 {
        guard offset + 16 <= bytes.count else { return nil }
        size = bytes[offset + 8..<offset + 16].reduce(0) { $0 << 8 | Int($1) }
        header = 16
      } else if size == 0 {
        size = bytes.count - offset
      }
      guard size >= header, offset + size <= bytes.count else { return nil }
      if Array(bytes[offset + 4..<offset + 8]) == wanted {
        return bytes[offset + header..<offset + size]
      }
      offset += size
    }
    return nil
  }
}
