// Target 4: the safetensors header parser (the length prefix, the JSON header, every entry's
// dtype, shape and offsets against the file's size).
import MISCNeural

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  do {
    _ = try SafeTensorsFile.entries(parsing: bytes)
  } catch is SafeTensorsError {
  } catch {
    fatalError("the safetensors parser threw a \(type(of: error)), not a SafeTensorsError: \(error)")
  }
  return 0
}
