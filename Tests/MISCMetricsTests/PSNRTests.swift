import MISCImage
import Testing
@testable import MISCMetrics

@Suite struct PSNRTests {
  @Test func identicalImagesReportTheCap() {
    let a = Image(width: 4, height: 3, fill: (10, 20, 30))
    #expect(PSNR.psnr(a, a) == PSNR.identical)
  }

  /// A uniform error of 5 on every sample: MSE 25, PSNR 10·log10(65025/25) = 34.1514 dB.
  @Test func handComputedValue() {
    let a = Image(width: 8, height: 8, fill: (100, 100, 100))
    let b = Image(width: 8, height: 8, fill: (105, 95, 105))
    #expect(PSNR.meanSquaredError(a, b) == 25)
    #expect(abs(PSNR.psnr(a, b) - 34.151_403_521_958_73) < 1e-9)
  }

  @Test func errorOnOneSampleIsAveraged() {
    var b = Image(width: 2, height: 2, fill: (0, 0, 0))
    b[1, 1, 2] = 12  // one of 12 samples off by 12: MSE = 144 / 12 = 12
    #expect(PSNR.meanSquaredError(Image(width: 2, height: 2, fill: (0, 0, 0)), b) == 12)
  }
}
