// Target 2: Container.decode with the CRC-16 recomputed over the mutated bytes, so that
// mutations reach the range-coded body instead of stopping at the checksum. The magic and
// version byte is forced to a readable one for the same reason. MISCCodingBody is MISCCoding's
// sources built without comparison tracing (Fuzz/Package.swift, Fuzz/README.md).
import MISCCodingBody

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzContainerBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  var bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard bytes.count >= 3 else { return 0 }
  // 0xB0...0xB7: the magic (the 0xF8 bits) and the mutated version bits; 2 to 4 are readable.
  bytes[0] = 0xB0 | (bytes[0] & 0x07)
  let crc = CRC16.checksum(bytes.dropFirst(3), initial: CRC16.checksum(bytes.prefix(1)))
  bytes[1] = UInt8(crc >> 8)
  bytes[2] = UInt8(crc & 0xFF)
  // Bounds that keep an execution short (Fuzz/README.md, "Throughput"); above them the reader
  // refuses, through the same checks as at the format's own limits:
  // - an image and a thumbnail of at most 2048 pixels each (the seeds are 48x32 and smaller): a
  //   thumbnail's wavelet and coefficient decoding stays small (a mutated 8-bit long side alone
  //   would ask for 256x171);
  // - strings of at most 128 UTF-8 bytes (the format allows 4096): a corrupt string can run to
  //   the limit on a few bytes of input, every byte eight bits through the text model. Item names
  //   and details are shorter; the seeds *-short-* carry a 127-byte overview (the two with the
  //   example's 290-byte one now stop there, with the error a string over 4096 bytes gets).
  do {
    _ = try Container.decode(bytes, maxPixels: 1 << 11, minBitsPerPixel: 0.002, maxThumbnailPixels: 1 << 11,
                             maxTextBytes: 128)
  } catch is ContainerError {
  } catch {
    fatalError("Container.decode threw a \(type(of: error)), not a ContainerError: \(error)")
  }
  return 0
}
