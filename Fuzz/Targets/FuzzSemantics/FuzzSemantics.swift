// Target 3: the semantics JSON loader (Semantics.parse: syntax check, decode, validation).
import MISC

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSemantics(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size <= Semantics.maxFileBytes else { return 0 }  // the loader reads at most this much
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  do {
    _ = try Semantics.parse(bytes)
  } catch is SemanticsError {
  } catch {
    fatalError("Semantics.parse threw a \(type(of: error)), not a SemanticsError: \(error)")
  }
  return 0
}
