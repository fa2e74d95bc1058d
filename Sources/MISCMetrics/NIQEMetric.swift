import MISCImage

/// NIQE as pyiqa's `niqe` (MATLAB's), under the pristine model of Mittal et al.; lower is better.
public struct NIQEMetric: NoReferenceMetric {
  public var model: NIQEModel

  public init(model: NIQEModel) { self.model = model }

  public var id: MetricID { .niqe }
  /// The pristine model is data, not trained weights: the report names it.
  public var modelID: String? { "niqe-matlab-pristine (Mittal et al. 2013)" }
  public var minimumSide: Int { NIQE.blockSize }
  /// A flat image leaves NIQE undefined (pyiqa's pinv fails on it): this says so, naming the size.
  public func score(_ image: Image) throws -> Double {
    let value = NIQE.score(image, model: model)
    guard value.isFinite else {
      throw MetricError.notAvailable(.niqe, "the \(image.width)x\(image.height) image is too flat: no 96x96 block has texture to fit (pyiqa's pinv fails on it)")
    }
    return value
  }
}
