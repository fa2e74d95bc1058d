import MISCImage
import Testing
@testable import MISCMetrics

@Suite struct SSIMTests {
  /// pytorch_msssim's SSIM, per channel and averaged: 1e-6 relative to its float64 run, and 1e-4 to its
  /// float32 run beyond the error float32 itself makes there (up to 1.2e-4 on a flat crop).
  @Test(arguments: MetricFixtures.all)
  func ssimEqualsPytorchMSSSIM(_ fixture: MetricFixtures.Case) throws {
    let (reference, distorted) = try fixture.pair()
    for c in 0..<3 {
      let pair = SSIM.indices(SSIM.plane(reference, c), SSIM.plane(distorted, c))
      #expect(MetricFixtures.relativeError(pair.ssim, fixture.ssimPerChannel[c]) < 1e-6, "channel \(c): \(pair.ssim)")
    }
    let score = try SSIMMetric().evaluate(reference: reference, distorted: distorted)
    #expect(MetricFixtures.relativeError(score, fixture.ssim64) < 1e-6, "\(score) vs \(fixture.ssim64)")
    let float32Error = MetricFixtures.relativeError(fixture.ssim, fixture.ssim64)
    #expect(MetricFixtures.relativeError(score, fixture.ssim) < 1e-4 + float32Error, "\(score) vs \(fixture.ssim)")
  }

  /// MS-SSIM, every scale's SSIM and contrast-structure included: 1e-6 to float64, 1e-4 to float32 as above.
  @Test(arguments: MetricFixtures.all.filter { $0.msssim != nil })
  func msssimEqualsPytorchMSSSIM(_ fixture: MetricFixtures.Case) throws {
    let (reference, distorted) = try fixture.pair()
    let levels = try #require(fixture.msssimLevels)
    for c in 0..<3 {
      let ours = SSIM.multiScaleLevels(SSIM.plane(reference, c), SSIM.plane(distorted, c)).levels
      #expect(ours.count == levels.count)
      for (i, level) in zip(ours, levels).enumerated() {
        #expect(abs(level.0.cs - level.1.cs[c]) < 1e-6, "scale \(i) channel \(c): cs \(level.0.cs) vs \(level.1.cs[c])")
        #expect(abs(level.0.ssim - level.1.ssim[c]) < 1e-6, "scale \(i) channel \(c): ssim \(level.0.ssim) vs \(level.1.ssim[c])")
      }
    }
    let score = try MSSSIMMetric().evaluate(reference: reference, distorted: distorted)
    let exact = try #require(fixture.msssim64), float32 = try #require(fixture.msssim)
    #expect(MetricFixtures.relativeError(score, exact) < 1e-6, "\(score) vs \(exact)")
    #expect(MetricFixtures.relativeError(score, float32) < 1e-4 + MetricFixtures.relativeError(float32, exact), "\(score) vs \(float32)")
  }

  @Test func identicalImagesScoreOne() throws {
    let (reference, _) = try MetricFixtures.all[0].pair()
    #expect(abs(SSIM.ssim(reference, reference) - 1) < 1e-12)
    #expect(abs(SSIM.multiScale(reference, reference) - 1) < 1e-12)
  }

  /// Odd sides are padded by one before the 2×2 mean, the zero pad counted: [1 2 3] -> [1/4, 5/4].
  @Test func halvingPadsOddSides() {
    let p = SSIM.Plane(width: 3, height: 1, samples: [1, 2, 3])
    let half = SSIM.halve(p)
    #expect(half.width == 2 && half.height == 1)
    #expect(half.samples == [0.25, 1.25])
  }

  @Test func tooSmallForMultiScaleSaysTheMinimum() {
    let image = Image(width: 200, height: 160, fill: (1, 2, 3))
    #expect(throws: MetricError.imageTooSmall(metric: .msssim, width: 200, height: 160, minimum: 161)) {
      try MSSSIMMetric().evaluate(reference: image, distorted: image)
    }
    #expect("\(MetricError.imageTooSmall(metric: .msssim, width: 200, height: 160, minimum: 161))".contains("161"))
  }
}
