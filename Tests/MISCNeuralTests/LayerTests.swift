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

  /// Winograd F(2x2, 3x3) against im2col (itself checked against PyTorch above) on random data: odd and even
  /// sides, padding 0 to 3, channel counts from 1 to 160, with and without bias; kernels of 3x3 and larger (in
  /// 3x3 pieces), strides above 1 (space-to-depth: AlexNet's 11x11 stride 4); the largest shapes are
  /// transformed in several blocks that cut rows of tiles. The error is relative to the output's largest value.
  @Test(arguments: [
    (1, 3, 4, 5, 0), (1, 1, 3, 3, 1), (3, 5, 7, 9, 1), (16, 8, 5, 4, 0), (8, 16, 17, 33, 1), (64, 64, 13, 35, 1),
    (33, 7, 2, 2, 1), (24, 40, 41, 19, 0), (160, 96, 37, 61, 1), (96, 160, 30, 22, 0),
  ].map { ($0.0, $0.1, $0.2, $0.3, 3, 1, $0.4) } + [
    (1, 2, 5, 5, 5, 1, 0), (3, 4, 9, 11, 5, 1, 2), (64, 48, 23, 17, 5, 1, 2), (16, 24, 20, 31, 5, 1, 1), (12, 8, 15, 13, 7, 1, 3),
    (5, 6, 6, 8, 4, 1, 1),
    (3, 8, 43, 47, 11, 4, 2), (3, 16, 64, 48, 11, 4, 2), (4, 6, 20, 23, 5, 2, 2), (2, 4, 31, 30, 7, 2, 3), (5, 3, 17, 18, 6, 2, 1),
    (1, 2, 12, 12, 9, 3, 0),
  ])
  func winogradMatchesIm2col(_ shape: (inputs: Int, outputs: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int)) throws {
    let name = "\(shape.inputs)x\(shape.height)x\(shape.width)->\(shape.outputs), \(shape.kernel)x\(shape.kernel), stride \(shape.stride), padding \(shape.padding)"
    let source = RandomTensors(shapes: ["w": [shape.outputs, shape.inputs, shape.kernel, shape.kernel], "b": [shape.outputs],
                                        "x": [shape.inputs, shape.height, shape.width]], seed: UInt64(shape.inputs * 1000 + shape.width), scale: 1)
    let x = try source.tensor("x")
    for bias in [true, false] {
      let conv = Conv2d(weight: try source.tensor("w"), bias: bias ? try source.tensor("b") : nil, stride: shape.stride, padding: shape.padding)
      let reference = conv(x, algorithm: .im2col)
      let winograd = conv(x, algorithm: .winograd)
      #expect(winograd.shape == reference.shape, "\(name)")
      guard winograd.shape == reference.shape else { continue }
      let scale = reference.scalars.reduce(0) { max($0, abs($1)) }
      let error = winograd.maxAbsoluteDifference(reference) / scale
      #expect(error < 1e-5, "\(name), bias \(bias): \(error)")
    }
  }

  /// Winograd serves the undilated, ungrouped convolutions where it needs at most 2/3 of im2col's multiply-adds
  /// (3x3 and 5x5, AlexNet's 11x11 stride 4; not 7x7, nor 3x3 stride 2) and sees 8 input channels or more.
  @Test func winogradIsChosenWhereItApplies() {
    func conv(_ shape: [Int], stride: Int = 1, dilation: Int = 1, groups: Int = 1) -> Conv2d {
      Conv2d(weight: Tensor(zeros: shape), bias: nil, stride: stride, padding: 1, dilation: dilation, groups: groups)
    }
    #expect(conv([64, 64, 3, 3]).algorithm == .winograd)
    #expect(conv([384, 192, 3, 3]).algorithm == .winograd)
    #expect(conv([64, 3, 3, 3]).algorithm == .im2col)
    #expect(conv([64, 64, 3, 3], stride: 2).algorithm == .im2col)
    #expect(conv([64, 64, 3, 3], dilation: 2).algorithm == .im2col)
    #expect(conv([64, 32, 3, 3], groups: 2).algorithm == .im2col)
    #expect(conv([192, 64, 5, 5]).algorithm == .winograd)
    #expect(conv([64, 64, 7, 7]).algorithm == .im2col)
    #expect(conv([64, 3, 11, 11], stride: 4).algorithm == .winograd)
    #expect(conv([64, 64, 7, 7], stride: 2).algorithm == .im2col)
    // Small images fall back to im2col: 7x7 outputs are 16 tiles, 9x9 are 25, 11x11 are 36.
    #expect(conv([512, 512, 3, 3]).algorithm(height: 7, width: 7) == .im2col)
    #expect(conv([512, 512, 3, 3]).algorithm(height: 9, width: 9) == .im2col)
    #expect(conv([512, 512, 3, 3]).algorithm(height: 11, width: 11) == .winograd)
    #expect(conv([64, 3, 3, 3]).algorithm(height: 224, width: 224) == .im2col)
    // Folding a batch norm keeps the choice.
    let norm = BatchNorm2d(weight: Tensor(shape: [64], scalars: Array(repeating: 1, count: 64)), bias: Tensor(zeros: [64]),
                           runningMean: Tensor(zeros: [64]), runningVariance: Tensor(shape: [64], scalars: Array(repeating: 1, count: 64)))
    #expect(conv([64, 64, 3, 3]).folding(norm).algorithm == .winograd)
  }

  /// Max pooling propagates NaN from any position of the window, and a window of −∞ gives −∞, as PyTorch does.
  @Test func maxPoolingPropagatesNaN() {
    let nan = Float.nan, inf = Float.infinity
    // 1 channel, 4x5: windows 3x3, stride 2, padding 1 -> 2x3.
    let x = Tensor(shape: [1, 4, 5], scalars: [
      -inf, -inf, 1, 2, 3,
      -inf, -inf, nan, 4, 5,
      6, 7, 8, 9, 10,
      11, 12, 13, 14, nan,
    ])
    let y = MaxPool2d(kernel: 3, stride: 2, padding: 1)(x)
    #expect(y.shape == [1, 2, 3])
    #expect(y.scalars[0] == -inf)
    #expect(y.scalars[1].isNaN && y.scalars[2] == 5)
    #expect(y.scalars[3] == 12 && y.scalars[4].isNaN && y.scalars[5].isNaN)
    // A NaN first in its window survives larger values after it.
    let first = MaxPool2d(kernel: 2, stride: 2)(Tensor(shape: [1, 2, 2], scalars: [nan, 5, 6, 7]))
    #expect(first.scalars[0].isNaN)
  }

  /// Max pooling against its definition (PyTorch's loop: `val > maxval || isnan(val)`) on random data with a NaN
  /// and a −∞, for kernels, strides, paddings, ceil mode and widths that exercise the vector pass and the edges.
  @Test func maxPoolMatchesDefinition() throws {
    for (k, s, p) in [(2, 2, 0), (3, 2, 0), (3, 2, 1), (2, 2, 1), (3, 1, 1), (5, 2, 2), (4, 2, 2)] {
      for width in [k, k + 1, 17, 18, 19, 33, 40, 41] {
        for ceil in [false, true] {
          let source = RandomTensors(shapes: ["x": [3, 9, width]], seed: UInt64(width * 10 + k), scale: 1)
          var x = try source.tensor("x")
          if width == 33 { x.scalars[40] = .nan; x.scalars[7] = -.infinity }
          let pool = MaxPool2d(kernel: k, stride: s, padding: p, ceilMode: ceil)
          let y = pool(x)
          let (oh, ow) = (pool.window.outputSize(9), pool.window.outputSize(width))
          var bad = 0
          for c in 0..<3 { for oy in 0..<oh { for ox in 0..<ow {
            var best = -Float.infinity
            for iy in max(0, oy * s - p)..<min(9, oy * s - p + k) { for ix in max(0, ox * s - p)..<min(width, ox * s - p + k) {
              let v = x.scalars[(c * 9 + iy) * width + ix]
              if v > best || v.isNaN { best = v }
            } }
            let got = y.scalars[(c * oh + oy) * ow + ox]
            if !(got == best || (got.isNaN && best.isNaN)) { bad += 1 }
          } } }
          #expect(bad == 0, "k \(k) s \(s) p \(p) width \(width) ceil \(ceil)")
        }
      }
    }
  }
}
