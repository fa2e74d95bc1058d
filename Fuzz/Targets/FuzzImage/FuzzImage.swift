// Target 5: PNG and JPEG reading (libpng and libjpeg-turbo behind ImageIO, EXIF orientation).
import MISCImage

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  do {
    _ = try ImageIO.decode(bytes, name: "fuzz", maxPixels: 1 << 20)
  } catch is ImageIOError {
  } catch {
    fatalError("ImageIO.decode threw a \(type(of: error)), not an ImageIOError: \(error)")
  }
  return 0
}
