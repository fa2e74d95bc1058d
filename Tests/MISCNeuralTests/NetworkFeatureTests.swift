import Foundation
import MISCImage
import MISCNeural
import Testing

/// AlexNet and VGG16 feature stacks against torchvision, on full-size architectures with the deterministic
/// random weights that scripts/fixtures/make_network_metric_fixtures.py regenerates in numpy.
@Suite struct NetworkFeatureTests {
  static let expected = Result { try SafeTensorsFile(path: Fixtures.root.appendingPathComponent("networks/features.safetensors").path) }

  /// parrots-64x48.png as [0, 1] RGB. [3, 48, 64]
  static func input() throws -> Tensor {
    let image = try ImageIO.read(path: Fixtures.image.path).image
    return Tensor(shape: [3, image.height, image.width]) { out in
      for c in 0..<3 { for i in 0..<image.pixelCount { out[c * image.pixelCount + i] = Float(image.pixels[i * 3 + c]) / 255 } }
    }
  }

  /// Each activation's first two channels and every channel's mean within 1e-4 of PyTorch.
  static func check(_ net: String, _ activations: [Tensor], widths: [Int]) throws {
    let expected = try expected.get()
    #expect(activations.map { $0.shape[0] } == widths)
    for (k, h) in activations.enumerated() {
      let head = try expected.tensor("\(net).\(k).head")
      let plane = h.shape[1] * h.shape[2]
      #expect(head.shape == [2, h.shape[1], h.shape[2]], "\(net) \(k): \(h.shape) vs \(head.shape)")
      guard head.count == 2 * plane else { continue }
      let ours = Tensor(shape: head.shape, scalars: Array(h.scalars[0..<2 * plane]))
      #expect(ours.maxAbsoluteDifference(head) < 1e-4, "\(net) activation \(k)")
      let means = Tensor(shape: [h.shape[0]], scalars: (0..<h.shape[0]).map { c in
        h.scalars[c * plane..<(c + 1) * plane].reduce(0, +) / Float(plane)
      })
      #expect(means.maxAbsoluteDifference(try expected.tensor("\(net).\(k).mean")) < 1e-4, "\(net) activation \(k) means")
      #expect(means.scalars.contains { $0 > 1e-3 }, "\(net) activation \(k) is dead: the test would not see an error")
    }
  }

  @Test func alexNetMatchesTorchvision() throws {
    let net = try AlexNetFeatures(weights: FanInRandomTensors(shapes: AlexNetFeatures.weightShapes()))
    let activations = net.activations(try Self.input())
    #expect(activations.map(\.shape) == [[64, 11, 15], [192, 5, 7], [384, 2, 3], [256, 2, 3], [256, 2, 3]])
    try Self.check("alexnet", activations, widths: AlexNetFeatures.standardWidths)
  }

  @Test func vgg16MatchesTorchvision() throws {
    let net = try VGG16Features(weights: FanInRandomTensors(shapes: VGG16Features.weightShapes()))
    let activations = net.activations(try Self.input())
    #expect(activations.map(\.shape) == [[64, 48, 64], [128, 24, 32], [256, 12, 16], [512, 6, 8], [512, 3, 4]])
    try Self.check("vgg16", activations, widths: VGG16Features.standardWidths)
  }

  /// DISTS's variant: L2 pooling between stages, on the ImageNet-normalised image.
  @Test func vgg16WithL2PoolingMatchesDISTS() throws {
    let net = try VGG16Features(weights: FanInRandomTensors(shapes: VGG16Features.weightShapes()), downsampling: .l2Pool)
    var x = try Self.input()
    let (mean, std): ([Float], [Float]) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    for c in 0..<3 { for i in 0..<48 * 64 { x.scalars[c * 48 * 64 + i] = (x.scalars[c * 48 * 64 + i] - mean[c]) / std[c] } }
    let activations = net.activations(x)
    #expect(activations.map(\.shape) == [[64, 48, 64], [128, 24, 32], [256, 12, 16], [512, 6, 8], [512, 3, 4]])
    try Self.check("vgg16-l2", activations, widths: VGG16Features.standardWidths)
  }

  /// Narrower widths build the same architecture (the names and kernel shapes follow the widths).
  @Test func narrowStacksHaveTheSameLayout() throws {
    let shapes = VGG16Features.weightShapes(widths: [4, 8, 8, 16, 16])
    #expect(shapes.count == 26 && shapes["features.28.weight"] == [16, 16, 3, 3] && shapes["features.5.weight"] == [8, 4, 3, 3])
    let alex = AlexNetFeatures.weightShapes(widths: [4, 6, 8, 8, 8])
    #expect(alex["features.0.weight"] == [4, 3, 11, 11] && alex["features.3.weight"] == [6, 4, 5, 5])
    let net = try AlexNetFeatures(weights: FanInRandomTensors(shapes: alex), widths: [4, 6, 8, 8, 8])
    #expect(net.activations(Tensor(zeros: [3, 31, 40])).map(\.shape) == [[4, 7, 9], [6, 3, 4], [8, 1, 1], [8, 1, 1], [8, 1, 1]])
  }

  /// L2 pooling by hand: a single 1 at the centre of a 3x3 plane pools to √(1/4) at (0,0)… and odd sides round up.
  @Test func l2PoolingByHand() {
    var x = Tensor(zeros: [1, 3, 3])
    x.scalars[4] = 2  // (1, 1)
    let y = L2Pool2d()(x)
    #expect(y.shape == [1, 2, 2])
    // Output (0,0) covers input rows/cols −1…1 with weight ¼·¼ at (1,1): √(4/16) = 0.5; (1,1) likewise.
    #expect(y.scalars.allSatisfy { abs($0 - 0.5) < 1e-6 })
  }
}
