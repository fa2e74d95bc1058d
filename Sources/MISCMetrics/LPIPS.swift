import MISCImage
import MISCNeural

/// LPIPS v0.1 (Zhang et al. 2018), equal to the `lpips` package's `LPIPS(net=…, version='0.1')`: both images
/// in [−1, 1], its ScalingLayer, the backbone's five ReLU activations unit-normalised over channels, squared
/// differences weighted by the learned 1x1 heads, averaged over positions and summed over layers. Lower is closer.
public struct LPIPS: FullReferenceMetric {
  /// The backbone, as the `lpips` package's `net` names it.
  public enum Network: String, Sendable, CaseIterable {
    case alex, vgg
  }

  /// The feature stack and its weights.
  public enum Backbone: Sendable {
    case alex(AlexNetFeatures)
    case vgg(VGG16Features)

    /// Channels of the five compared activations.
    public var widths: [Int] {
      switch self {
      case .alex(let net): net.convolutions.map(\.outputs)
      case .vgg(let net): net.stages.map { $0.last!.outputs }
      }
    }

    /// [3, H, W] -> five activations [C_k, H_k, W_k]
    public func activations(_ x: Tensor) -> [Tensor] {
      switch self {
      case .alex(let net): net.activations(x)
      case .vgg(let net): net.activations(x)
      }
    }
  }

  /// The ScalingLayer's shift and scale per RGB channel (applied to samples in [−1, 1]).
  public static let shift: [Float] = [-0.030, -0.088, -0.188]
  public static let scale: [Float] = [0.458, 0.448, 0.450]
  /// Added to the channel norm before dividing (`normalize_tensor`'s eps).
  public static let normEpsilon: Float = 1e-10

  public let network: Network
  public let backbone: Backbone
  /// The linear heads `lin{k}`: one weight per channel of activation k.
  public let heads: [[Float]]

  /// A backbone with its heads (`lin{0…4}.weight`, [1, C_k, 1, 1]).
  public init(backbone: Backbone, heads: any TensorSource) throws {
    self.backbone = backbone
    switch backbone {
    case .alex: network = .alex
    case .vgg: network = .vgg
    }
    self.heads = try backbone.widths.enumerated().map { k, width in
      try heads.tensor("lin\(k).weight", shape: [1, width, 1, 1]).scalars
    }
  }

  /// Loads `alexnet` + `lpips-alex`, or `vgg16` + `lpips-vgg`, from the metric models directory.
  public init(network: Network, models: MetricModels) throws {
    let id: MetricID = network == .alex ? .lpips : .lpipsVGG
    let folders = network == .alex ? ["alexnet", "lpips-alex"] : ["vgg16", "lpips-vgg"]
    let backboneWeights = try NetworkWeights.open(folders[0], for: id, models: models, allFolders: folders)
    let headWeights = try NetworkWeights.open(folders[1], for: id, models: models, allFolders: folders)
    let backbone: Backbone = network == .alex
      ? .alex(try AlexNetFeatures(weights: backboneWeights))
      : .vgg(try VGG16Features(weights: backboneWeights, downsampling: .maxPool))
    try self.init(backbone: backbone, heads: headWeights)
  }

  public var id: MetricID { network == .alex ? .lpips : .lpipsVGG }
  public var modelID: String? { network == .alex ? "lpips-v0.1-alex (torchvision AlexNet)" : "lpips-v0.1-vgg (torchvision VGG16)" }
  public var minimumSide: Int { network == .alex ? AlexNetFeatures.minimumSide : 16 }

  public func score(reference: Image, distorted: Image) throws -> Double {
    layerDistances(reference: reference, distorted: distorted).reduce(0, +)
  }

  /// The five per-layer terms whose sum is the score (`retPerLayer=True`).
  public func layerDistances(reference: Image, distorted: Image) -> [Double] {
    let a = backbone.activations(Self.input(reference))
    let b = backbone.activations(Self.input(distorted))
    return (0..<heads.count).map { Self.distance(a[$0], b[$0], head: heads[$0]) }
  }

  /// The network input: samples mapped to [−1, 1] (as `lpips.im2tensor`), then the ScalingLayer. -> [3, H, W]
  public static func input(_ image: Image) -> Tensor {
    let tables = (0..<3).map { c in
      (0..<256).map { (Float(Double($0) / 127.5 - 1) - shift[c]) / scale[c] }
    }
    return NetworkWeights.planar(image, tables: tables)
  }

  /// The spatial mean of Σ_c w_c (â_c − b̂_c)², â and b̂ unit-normalised over channels at each position.
  static func distance(_ a: Tensor, _ b: Tensor, head: [Float]) -> Double {
    precondition(a.shape == b.shape && a.shape[0] == head.count, "LPIPS layer of \(a.shape) and \(b.shape), head \(head.count)")
    let (channels, positions) = (a.shape[0], a.shape[1] * a.shape[2])
    var normA = [Float](repeating: 0, count: positions), normB = normA
    var total = 0.0
    a.scalars.withUnsafeBufferPointer { pa in
      b.scalars.withUnsafeBufferPointer { pb in
        for c in 0..<channels {
          let (rowA, rowB) = (pa.baseAddress! + c * positions, pb.baseAddress! + c * positions)
          for p in 0..<positions {
            normA[p] += rowA[p] * rowA[p]
            normB[p] += rowB[p] * rowB[p]
          }
        }
        for p in 0..<positions {
          normA[p] = 1 / (normA[p].squareRoot() + normEpsilon)
          normB[p] = 1 / (normB[p].squareRoot() + normEpsilon)
        }
        var perPosition = [Float](repeating: 0, count: positions)
        for c in 0..<channels {
          let (rowA, rowB, w) = (pa.baseAddress! + c * positions, pb.baseAddress! + c * positions, head[c])
          for p in 0..<positions {
            let d = rowA[p] * normA[p] - rowB[p] * normB[p]
            perPosition[p] += w * d * d
          }
        }
        for value in perPosition { total += Double(value) }
      }
    }
    return total / Double(positions)
  }
}
