import MISCImage
import MISCNeural

/// DISTS (Ding et al. 2020), equal to pyiqa's `dists` and DISTS_pytorch: both images in [0, 1] RGB, no resize;
/// the image itself (stage 0) and VGG16's five stages with L2 pooling, on the ImageNet-normalised image; per
/// channel a structure term (2μxμy + c)/(μx² + μy² + c) weighted by α and a texture term (2σxy + c)/(σx² + σy² + c)
/// weighted by β, c = 1e-6, α and β divided by their joint sum; the score is 1 − the weighted sum. Lower is closer.
public struct DISTS: FullReferenceMetric {
  /// The ImageNet mean and standard deviation the VGG16 stages see the image through.
  public static let mean: [Float] = [0.485, 0.456, 0.406]
  public static let std: [Float] = [0.229, 0.224, 0.225]
  /// The stabilising constant of both terms (c1 = c2).
  public static let constant = 1e-6

  public let features: VGG16Features
  /// α and β per channel of [image (3), relu1_2, …, relu5_3], each divided by Σα + Σβ. [1475] each
  public let alpha: [Double]
  public let beta: [Double]

  /// A VGG16 stack (with `.l2Pool` downsampling) and `alpha`, `beta` ([3 + Σ widths]).
  public init(features: VGG16Features, weights: any TensorSource) throws {
    precondition(features.downsampling == .l2Pool, "DISTS needs VGG16 with L2 pooling")
    let channels = 3 + features.stages.reduce(0) { $0 + $1.last!.outputs }
    let alpha = try weights.tensor("alpha", shape: [channels]).scalars
    let beta = try weights.tensor("beta", shape: [channels]).scalars
    // Summed in Double: a sequential Float32 sum of 2950 weights drifts by ~1e-6, which would shift every score.
    let sum = alpha.reduce(0.0) { $0 + Double($1) } + beta.reduce(0.0) { $0 + Double($1) }
    self.features = features
    self.alpha = alpha.map { Double($0) / sum }
    self.beta = beta.map { Double($0) / sum }
  }

  /// Loads `vgg16` and `dists` from the metric models directory.
  public init(models: MetricModels) throws {
    let folders = ["vgg16", "dists"]
    let vgg = try NetworkWeights.open("vgg16", for: .dists, models: models, allFolders: folders)
    let weights = try NetworkWeights.open("dists", for: .dists, models: models, allFolders: folders)
    try self.init(features: VGG16Features(weights: vgg, downsampling: .l2Pool), weights: weights)
  }

  public var id: MetricID { .dists }
  public var modelID: String? { "dists (torchvision VGG16, L2 pooling)" }
  /// Four L2 poolings leave relu5_3 at least 1x1 from 16 pixels (the arithmetic allows less; the metric does not).
  public var minimumSide: Int { 16 }

  public func score(reference: Image, distorted: Image) throws -> Double {
    let x = stages(distorted), y = stages(reference)
    var structure = 0.0, texture = 0.0
    var channel = 0
    for (a, b) in zip(x, y) {
      let positions = a.shape[1] * a.shape[2]
      a.scalars.withUnsafeBufferPointer { pa in
        b.scalars.withUnsafeBufferPointer { pb in
          for c in 0..<a.shape[0] {
            let (rowA, rowB) = (pa.baseAddress! + c * positions, pb.baseAddress! + c * positions)
            var sumA = 0.0, sumB = 0.0, sumAB = 0.0
            for p in 0..<positions {
              sumA += Double(rowA[p])
              sumB += Double(rowB[p])
              sumAB += Double(rowA[p]) * Double(rowB[p])
            }
            let n = Double(positions)
            let (meanA, meanB) = (sumA / n, sumB / n)
            var varA = 0.0, varB = 0.0
            for p in 0..<positions {
              let (da, db) = (Double(rowA[p]) - meanA, Double(rowB[p]) - meanB)
              varA += da * da
              varB += db * db
            }
            varA /= n
            varB /= n
            let covariance = sumAB / n - meanA * meanB
            let k = Self.constant
            structure += alpha[channel] * (2 * meanA * meanB + k) / (meanA * meanA + meanB * meanB + k)
            texture += beta[channel] * (2 * covariance + k) / (varA + varB + k)
            channel += 1
          }
        }
      }
    }
    return 1 - (structure + texture)
  }

  /// Stage 0 (the [0, 1] image) and the five VGG16 stages of the normalised image. -> [[3, H, W], [64, H, W], …]
  public func stages(_ image: Image) -> [Tensor] {
    let x = Self.input(image)
    return [x] + features.activations(Self.normalized(image))
  }

  /// The image as samples / 255 (torchvision's ToTensor). -> [3, H, W]
  public static func input(_ image: Image) -> Tensor {
    NetworkWeights.planar(image, tables: (0..<3).map { _ in (0..<256).map { Float($0) / 255 } })
  }

  /// (samples / 255 − mean) / std per channel, in Float32 as the reference computes it. -> [3, H, W]
  public static func normalized(_ image: Image) -> Tensor {
    NetworkWeights.planar(image, tables: (0..<3).map { c in (0..<256).map { (Float($0) / 255 - mean[c]) / std[c] } })
  }
}
