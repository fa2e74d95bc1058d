import Foundation
import MISCNeural
import Testing

/// Convolution, pooling, batch norm and ReLU against PyTorch (scripts/fixtures/make_layer_fixtures.py).
@Suite struct LayerTests {
  static let directory = Fixtures.root.appendingPathComponent("layers")
  static let tensors = Result { try SafeTensorsFile(path: directory.appendingPathComponent("layers.safetensors").path) }
  /// One entry of layers.json.
  struct Case: Decodable, Sendable {
    var kind: String
    var inputs, outputs, kernel, stride, padding, dilation, groups: Int?
    var bias, batch_norm, ceil_mode, count_include_pad: Bool?
  }
  static let cases: [String: Case] = {
    let data = (try? Data(contentsOf: directory.appendingPathComponent("layers.json"))) ?? Data("{}".utf8)
    return (try? JSONDecoder().decode([String: Case].self, from: data)) ?? [:]
  }()

  static func names(_ kind: String) -> [String] { cases.filter { $0.value.kind == kind }.keys.sorted() }

  /// The layer's output for case `name`, and PyTorch's.
  static func run(_ name: String) throws -> (ours: Tensor, torch: Tensor) {
    let source = try tensors.get()
    let spec = try #require(cases[name])
    func int(_ key: KeyPath<Case, Int?>) -> Int { spec[keyPath: key]! }
    func bool(_ key: KeyPath<Case, Bool?>) -> Bool { spec[keyPath: key]! }
    let input = try source.tensor("\(name).input")
    let ours: Tensor
    switch spec.kind {
    case "conv":
      var layer = try Conv2d(weights: source, prefix: name, inputs: int(\.inputs), outputs: int(\.outputs), kernel: int(\.kernel),
                             stride: int(\.stride), padding: int(\.padding), dilation: int(\.dilation), groups: int(\.groups),
                             bias: bool(\.bias))
      if bool(\.batch_norm) {
        let norm = try BatchNorm2d(weights: source, prefix: "\(name).norm", channels: int(\.outputs))
        // The folded convolution and the two layers applied in turn must both match.
        let unfolded = norm(layer(input))
        layer = layer.folding(norm)
        #expect(unfolded.maxAbsoluteDifference(try source.tensor("\(name).output")) < 1e-4, "\(name) unfolded")
      }
      ours = layer(input)
    case "maxpool":
      ours = MaxPool2d(kernel: int(\.kernel), stride: int(\.stride), padding: int(\.padding), ceilMode: bool(\.ceil_mode))(input)
    case "avgpool":
      ours = AvgPool2d(kernel: int(\.kernel), stride: int(\.stride), padding: int(\.padding), ceilMode: bool(\.ceil_mode),
                       countIncludePad: bool(\.count_include_pad))(input)
    case "relu":
      ours = ReLU()(input)
    case let kind:
      Issue.record("unknown case kind \(kind)")
      ours = input
    }
    return (ours, try source.tensor("\(name).output"))
  }

  @Test func fixturesArePresent() {
    #expect(Self.names("conv").count == 9)
    #expect(Self.names("maxpool").count == 3 && Self.names("avgpool").count == 4 && Self.names("relu").count == 1)
  }

  @Test(arguments: names("conv") + names("maxpool") + names("avgpool") + names("relu"))
  func matchesPyTorch(_ name: String) throws {
    let (ours, torch) = try Self.run(name)
    #expect(ours.shape == torch.shape, "\(name)")
    if ours.shape == torch.shape {
      #expect(ours.maxAbsoluteDifference(torch) < 1e-4, "\(name)")
    }
  }

  /// A hand-checkable case: a 2x2 sum kernel, stride 1, padding 1, on a 2x2 image.
  @Test func convolutionPadsWithZeros() {
    let conv = Conv2d(weight: Tensor(shape: [1, 1, 2, 2], scalars: [1, 1, 1, 1]), bias: Tensor(shape: [1], scalars: [10]), padding: 1)
    let y = conv(Tensor(shape: [1, 2, 2], scalars: [1, 2, 3, 4]))
    #expect(y.shape == [1, 3, 3])
    #expect(y.scalars == [11, 13, 12, 14, 20, 16, 13, 17, 14])
  }

  /// Large enough (depth 1152, 80 columns) that the column buffer is filled in two blocks of 45 rows.
  @Test func blockedColumnsEqualOneBlock() throws {
    let source = RandomTensors(shapes: ["w": [8, 128, 3, 3], "b": [8], "x": [128, 90, 80]], scale: 1)
    let conv = Conv2d(weight: try source.tensor("w"), bias: try source.tensor("b"), padding: 1)
    let x = try source.tensor("x")
    let y = conv(x)
    // Output row 45 computed by hand from the definition.
    var worst: Float = 0
    for o in [0, 7] {
      for ox in [0, 1, 40, 79] {
        var sum = conv.bias!.scalars[o]
        for c in 0..<128 { for ky in 0..<3 { for kx in 0..<3 {
          let (iy, ix) = (45 + ky - 1, ox + kx - 1)
          guard ix >= 0 && ix < 80 else { continue }
          sum += conv.weight.scalars[((o * 128 + c) * 3 + ky) * 3 + kx] * x.scalars[(c * 90 + iy) * 80 + ix]
        } } }
        worst = max(worst, abs(sum - y.scalars[(o * 90 + 45) * 80 + ox]))
      }
    }
    #expect(worst < 1e-3)
  }
}
