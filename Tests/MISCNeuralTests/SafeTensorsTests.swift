import Foundation
import MISCNeural
import Testing

@Suite struct SafeTensorsTests {
  /// Opens a file made of `header` and `data`, returning the error it gives (nil if it opens).
  func openError(header: String, data: [UInt8], declaredLength: UInt64? = nil) throws -> SafeTensorsError? {
    let path = try temporaryFile(safetensorsBytes(header: header, data: data, declaredLength: declaredLength))
    defer { try? FileManager.default.removeItem(atPath: path) }
    do {
      _ = try SafeTensorsFile(path: path)
      return nil
    } catch let error as SafeTensorsError {
      #expect("\(error)".contains(path), "the error names the file: \(error)")
      return error
    }
  }

  @Test func readsF32F16BF16AndF64() throws {
    var data: [UInt8] = []
    for v: Float in [1.5, -2.25] { data += withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    // F16: 1.0 = 0x3C00, -0.5 = 0xB800, smallest subnormal 0x0001 = 2^-24, 65504 = 0x7BFF
    for h: UInt16 in [0x3C00, 0xB800, 0x0001, 0x7BFF] { data += withUnsafeBytes(of: h.littleEndian) { Array($0) } }
    // BF16: 3.0 = 0x4040, -1.0 = 0xBF80
    for h: UInt16 in [0x4040, 0xBF80] { data += withUnsafeBytes(of: h.littleEndian) { Array($0) } }
    data += withUnsafeBytes(of: (0.1 as Double).bitPattern.littleEndian) { Array($0) }
    data += [7, 0, 0, 0, 0, 0, 0, 0]
    let header = #"{"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "# + 
      #""h": {"dtype": "F16", "shape": [2, 2], "data_offsets": [8, 16]}, "b": {"dtype": "BF16", "shape": [2], "data_offsets": [16, 20]}, "# +
      #""d": {"dtype": "F64", "shape": [], "data_offsets": [20, 28]}, "i": {"dtype": "I64", "shape": [1], "data_offsets": [28, 36]}}"#
    let path = try temporaryFile(safetensorsBytes(header: header, data: data))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let file = try SafeTensorsFile(path: path)
    #expect(file.metadata == ["format": "pt"])
    #expect(try file.tensor("a") == Tensor(shape: [2], scalars: [1.5, -2.25]))
    #expect(try file.tensor("h", shape: [2, 2]) == Tensor(shape: [2, 2], scalars: [1, -0.5, 0x1p-24, 65504]))
    #expect(try file.tensor("b") == Tensor(shape: [2], scalars: [3, -1]))
    #expect(try file.tensor("d") == Tensor(shape: [], scalars: [0.1]))
    #expect(throws: TensorSourceError.unsupportedDType(name: "i", source: path, dtype: "I64")) { try file.tensor("i") }
    #expect(throws: TensorSourceError.missingTensor(name: "zz", source: path)) { try file.tensor("zz") }
    #expect(throws: TensorSourceError.wrongShape(name: "h", source: path, expected: [4], found: [2, 2])) { try file.tensor("h", shape: [4]) }
  }

  @Test func malformedFilesGiveClearErrors() throws {
    let eight = [UInt8](repeating: 0, count: 8)
    let one = #"{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#
    #expect(try openError(header: one, data: eight) == nil)

    guard case .headerLength? = try openError(header: one, data: eight, declaredLength: 1 << 40) else { Issue.record("huge header length"); return }
    guard case .headerLength? = try openError(header: one, data: eight, declaredLength: UInt64(one.utf8.count + 9)) else { Issue.record("header past the end"); return }
    guard case .badHeader? = try openError(header: "{not json", data: eight) else { Issue.record("bad JSON"); return }
    guard case .badHeader? = try openError(header: "[1, 2]", data: eight) else { Issue.record("not an object"); return }
    guard case .unknownDType? = try openError(header: #"{"t": {"dtype": "F17", "shape": [2], "data_offsets": [0, 8]}}"#, data: eight) else { Issue.record("unknown dtype"); return }
    guard case .badEntry? = try openError(header: #"{"t": {"shape": [2], "data_offsets": [0, 8]}}"#, data: eight) else { Issue.record("no dtype"); return }
    guard case .badEntry? = try openError(header: #"{"t": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}"#, data: eight) else { Issue.record("negative shape"); return }
    guard case .badEntry? = try openError(header: #"{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0]}}"#, data: eight) else { Issue.record("one offset"); return }
    guard case .offsetsOutOfBounds? = try openError(header: #"{"t": {"dtype": "F32", "shape": [25], "data_offsets": [0, 100]}}"#, data: eight) else { Issue.record("offsets past the data"); return }
    guard case .offsetsOutOfBounds? = try openError(header: #"{"t": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}"#, data: eight) else { Issue.record("reversed offsets"); return }
    guard case .sizeMismatch? = try openError(header: #"{"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, data: eight) else { Issue.record("short data"); return }
    guard case .sizeMismatch? = try openError(header: #"{"t": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}}"#, data: eight) else { Issue.record("overflowing shape"); return }
    let twelve = [UInt8](repeating: 0, count: 12)
    guard case .overlapping? = try openError(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#, data: twelve) else { Issue.record("overlap"); return }
    guard case .hole? = try openError(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#, data: twelve) else { Issue.record("hole"); return }
    guard case .trailingData? = try openError(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: eight) else { Issue.record("trailing bytes"); return }

    let short = try temporaryFile([1, 2, 3])
    defer { try? FileManager.default.removeItem(atPath: short) }
    #expect(throws: SafeTensorsError.truncated(path: short, size: 3)) { try SafeTensorsFile(path: short) }
    #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: "/nonexistent/model.safetensors") }
  }

  @Test func missingAndMisshapenWeightsNameTheTensorAndFile() throws {
    // The fixture model with one tensor dropped and one reshaped.
    let source = try SafeTensorsFile(path: Fixtures.model.appendingPathComponent("model.safetensors").path)
    let configuration = try CLIPConfiguration(contentsOf: Fixtures.model.appendingPathComponent("config.json"))
    struct Edited: TensorSource {
      let base: SafeTensorsFile
      let drop: String?
      let reshape: String?
      var sourceDescription: String { base.sourceDescription }
      var tensorNames: [String] { base.tensorNames.filter { $0 != drop } }
      func shape(of name: String) -> [Int]? {
        if name == drop { return nil }
        if name == reshape, let shape = base.shape(of: name) { return shape + [1] }
        return base.shape(of: name)
      }
      func tensor(_ name: String) throws -> Tensor {
        if name == drop { throw TensorSourceError.missingTensor(name: name, source: sourceDescription) }
        return try base.tensor(name)
      }
    }
    let missing = "vision_model.encoder.layers.7.mlp.fc2.bias"
    #expect(throws: TensorSourceError.missingTensor(name: missing, source: source.path)) {
      try CLIPModel(configuration: configuration, weights: Edited(base: source, drop: missing, reshape: nil))
    }
    let reshaped = "text_projection.weight"
    #expect(throws: TensorSourceError.wrongShape(name: reshaped, source: source.path, expected: [24, 24], found: [24, 24, 1])) {
      try CLIPModel(configuration: configuration, weights: Edited(base: source, drop: nil, reshape: reshaped))
    }
    // A configuration that disagrees with the file: the error says which tensor and what shape.
    var wrong = configuration
    wrong.vision.intermediateSize = 96
    #expect {
      try CLIPModel(configuration: wrong, weights: source)
    } throws: { error in
      "\(error)".contains("vision_model.encoder.layers.0.mlp.fc1.weight") && "\(error)".contains(source.path) && "\(error)".contains("[96, 64]")
    }
  }
}
