import Foundation
import MISCImage
import Testing
@testable import MISCMetrics

@Suite struct NIQETests {
  static let model = try! NIQEModel.load(path: MetricFixtures.data.appendingPathComponent("niqe/niqe_pris_params.json").path)

  /// pyiqa's NIQE on the crop and on its distorted copy, within 1e-4 relative.
  @Test(arguments: MetricFixtures.all.filter { $0.niqeReference != nil })
  func scoreEqualsPyiqa(_ fixture: MetricFixtures.Case) throws {
    let (reference, distorted) = try fixture.pair()
    let metric = NIQEMetric(model: Self.model)
    let a = try metric.evaluate(reference: nil, distorted: reference)
    let b = try metric.evaluate(reference: nil, distorted: distorted)
    #expect(MetricFixtures.relativeError(a, fixture.niqeReference!) < 1e-4, "\(a) vs \(fixture.niqeReference!)")
    #expect(MetricFixtures.relativeError(b, fixture.niqeDistorted!) < 1e-4, "\(b) vs \(fixture.niqeDistorted!)")
  }

  /// The luma plane exactly (its rounding ties included), and the block features within 1e-4.
  @Test(arguments: MetricFixtures.all.filter { $0.niqeReference != nil })
  func intermediatesEqualPyiqa(_ fixture: MetricFixtures.Case) throws {
    let (reference, _) = try fixture.pair()
    let luma = NIQE.luma(reference)
    #expect(luma.samples.reduce(0, +) == fixture.ySum)
    let features = NIQE.blockFeatures(luma)
    let first = try #require(fixture.niqeFirstBlockFeatures)
    for (j, (ours, theirs)) in zip(features[0], first).enumerated() {
      #expect(abs(ours - theirs) < 1e-4, "first block, feature \(j): \(ours) vs \(theirs)")
    }
    let mean = try #require(fixture.niqeMeanFeatures)
    for j in 0..<NIQEModel.featureCount {
      let ours = features.map { $0[j] }.reduce(0, +) / Double(features.count)
      #expect(abs(ours - mean[j]) < 1e-4, "mean feature \(j): \(ours) vs \(mean[j])")
    }
  }

  @Test func tooSmallSaysTheMinimum() {
    let image = Image(width: 95, height: 300, fill: (10, 20, 30))
    #expect(throws: MetricError.imageTooSmall(metric: .niqe, width: 95, height: 300, minimum: 96)) {
      try NIQEMetric(model: Self.model).evaluate(reference: nil, distorted: image)
    }
  }

  /// The exact half-scale bicubic keeps a constant plane constant (its taps sum to one).
  @Test func halvingKeepsAConstant() {
    let plane = NIQE.Plane(width: 10, height: 6, samples: [Double](repeating: 200, count: 60))
    let half = NIQE.halve(plane)
    #expect(half.width == 5 && half.height == 3)
    #expect(half.samples.allSatisfy { abs($0 - 200) < 1e-4 })
  }

  /// The Jacobi pseudo-inverse agrees with a hand inverse: A = [[2, 1], [1, 2]], x = [1, 0] gives 2/3.
  @Test func pseudoInverseQuadraticForm() {
    let eigen = SymmetricEigen([2, 1, 1, 2], size: 2)
    #expect(abs(eigen.pseudoInverseQuadraticForm([1, 0]) - 2.0 / 3) < 1e-12)
    // A singular matrix keeps only its range: [[1, 1], [1, 1]], x = [1, 1] gives 2²/2 / 2 = 1.
    #expect(abs(SymmetricEigen([1, 1, 1, 1], size: 2).pseudoInverseQuadraticForm([1, 1]) - 1) < 1e-12)
  }

  @Test func missingModelNamesTheFolder() {
    #expect {
      try NIQEModel.locate(models: MetricModels(directory: "/nonexistent/models"), environment: [:])
    } throws: { error in
      "\(error)".contains("/nonexistent/models/niqe") && "\(error)".contains("niqe_pris_params.json")
    }
  }
}
