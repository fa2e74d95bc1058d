import MISCImage
import MISCMetrics
import Testing
@testable import MISCBench

@Suite struct MetricsBenchTests {
  /// A metric the registry cannot build is reported with its reason; the others are timed.
  @Test func unavailableMetricIsReportedAndTheOthersRun() {
    let image = Image(width: 32, height: 24, fill: (120, 60, 30))
    let entries = MetricsBench.runSwift([.psnr, .lpips], images: [image, image]) { id in
      if id == .psnr { return PSNRMetric() }
      throw MetricError.notAvailable(id, "not built yet")
    }
    #expect(entries.map(\.metric) == ["psnr", "lpips"])
    #expect(entries[0].imagesPerSecond != nil && entries[0].error == nil && entries[0].images == 2)
    #expect(entries[1].imagesPerSecond == nil && entries[1].error?.contains("not built yet") == true)
  }

  /// The ratio is Swift's speed over PyTorch's; a PyTorch error stays beside the entry.
  @Test func mergeComputesTheRatio() {
    var swift = MetricsBench.Entry(metric: "niqe", label: "NIQE", model: "m", images: 24)
    swift.imagesPerSecond = 30
    var torch = MetricsBench.TorchResult()
    torch.imagesPerSecond["niqe"] = 2
    torch.package["niqe"] = "pyiqa niqe"
    torch.errors["psnr"] = "boom"
    let merged = MetricsBench.merge([swift, MetricsBench.Entry(metric: "psnr", label: "PSNR", model: "none", images: 24)], torch: torch)
    #expect(merged[0].ratio == 15 && merged[0].torchPackage == "pyiqa niqe")
    #expect(merged[1].ratio == nil && merged[1].torchError == "boom")
  }

  /// The distortion both sides use: steps of 16, middle of the step.
  @Test func distortionQuantisesToSteps() {
    let image = Image(width: 1, height: 1, pixels: [0, 17, 255])
    #expect(MetricsBench.distorted(image).pixels == [8, 24, 248])
  }
}
