import Testing
@testable import MISCMetrics

/// The parity figures docs/METRICS.md quotes: the largest relative error over every fixture, printed.
/// Run: MISC_DATA=../shared/data swift test --filter ParityFigureTests
@Suite struct ParityFigureTests {
  @Test func maximumRelativeErrors() throws {
    let niqe = NIQEMetric(model: NIQETests.model)
    var worst: [String: Double] = [:]
    func note(_ key: String, _ ours: Double, _ theirs: Double) {
      worst[key] = max(worst[key] ?? 0, MetricFixtures.relativeError(ours, theirs))
    }
    for fixture in MetricFixtures.all {
      let (reference, distorted) = try fixture.pair()
      let ssim = SSIM.ssim(reference, distorted)
      note("SSIM vs float64", ssim, fixture.ssim64)
      note("SSIM vs float32", ssim, fixture.ssim)
      if let exact = fixture.msssim64, let float32 = fixture.msssim {
        let msssim = SSIM.multiScale(reference, distorted)
        note("MS-SSIM vs float64", msssim, exact)
        note("MS-SSIM vs float32", msssim, float32)
      }
      if let a = fixture.niqeReference, let b = fixture.niqeDistorted {
        note("NIQE", try niqe.score(reference), a)
        note("NIQE", try niqe.score(distorted), b)
      }
    }
    for (key, value) in worst.sorted(by: { $0.key < $1.key }) {
      print("parity: \(key): max relative error \(value)")
    }
    #expect(worst["SSIM vs float64"]! < 1e-6 && worst["MS-SSIM vs float64"]! < 1e-6 && worst["NIQE"]! < 1e-6)
    #expect(worst.count == 5)
  }
}
