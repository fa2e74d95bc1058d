// Target 1: Container.decode on raw bytes. Every input must decode or throw a ContainerError.
import MISCCoding

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzContainer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  do {
    _ = try Container.decode(bytes, maxPixels: FuzzLimits.maxPixels, minBitsPerPixel: FuzzLimits.minBitsPerPixel,
                             maxThumbnailPixels: FuzzLimits.maxPixels)
  } catch is ContainerError {
  } catch {
    fatalError("Container.decode threw a \(type(of: error)), not a ContainerError: \(error)")
  }
  return 0
}

/// Small limits keep each execution short: a declared image or thumbnail above 8192 pixels is
/// refused before anything is allocated, so a thumbnail costs at most 8192 pixels of wavelet
/// decoding instead of 43776 (a mutated 8-bit long side: 256x171), which under ASan and
/// libFuzzer's comparison tracing is most of an execution.
enum FuzzLimits {
  static let maxPixels = 1 << 13
  static let minBitsPerPixel = 0.002
}
