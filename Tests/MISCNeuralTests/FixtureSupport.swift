import Foundation
import MISCNeural

/// The fixtures written by scripts/fixtures/make_clip_fixtures.py.
enum Fixtures {
  static let root: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
  static var model: URL { root.appendingPathComponent("tiny-clip") }
  static var expected: URL { root.appendingPathComponent("expected") }
  static var image: URL { root.appendingPathComponent("parrots-64x48.png") }

  /// A raw little-endian float32 file of the script, as a tensor of `shape`.
  static func floats(_ name: String, shape: [Int]) throws -> Tensor {
    let data = try Data(contentsOf: expected.appendingPathComponent(name))
    let count = data.count / 4
    let scalars = data.withUnsafeBytes { raw in
      (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
    }
    return Tensor(shape: shape, scalars: scalars)
  }

  static func json(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: expected.appendingPathComponent(name))
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
  }

  /// One loaded model for all tests.
  static let clip: Result<CLIPModel, any Error> = Result { try CLIPModel(directory: model) }
}

/// A throwaway file under the temporary directory, removed by the caller.
func temporaryFile(_ bytes: [UInt8], suffix: String = ".safetensors") throws -> String {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("misc-neural-\(UUID().uuidString)\(suffix)").path
  try Data(bytes).write(to: URL(fileURLWithPath: path))
  return path
}

/// A safetensors file from a header string and raw data bytes.
func safetensorsBytes(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
  let json = Array(header.utf8)
  var length = declaredLength ?? UInt64(json.count)
  var bytes = withUnsafeBytes(of: &length) { Array($0) }
  bytes += json
  bytes += data
  return bytes
}
