import Foundation
import MISCImage
import Testing
@testable import MISCMetrics

@Suite struct MetricRegistryTests {
  @Test func buildsTheWeightFreeMetrics() throws {
    #expect(try MetricRegistry.make(.ssim, models: MetricModels()) is SSIMMetric)
    #expect(try MetricRegistry.make(.msssim, models: MetricModels()) is MSSSIMMetric)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("misc-niqe-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder.appendingPathComponent("niqe"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: MetricFixtures.data.appendingPathComponent("niqe/niqe_pris_params.json").path,
                                     toPath: folder.appendingPathComponent("niqe/niqe_pris_params.json").path)
    let niqe = try #require(try MetricRegistry.make(.niqe, models: MetricModels(directory: folder.path)) as? NIQEMetric)
    #expect(niqe.model == NIQETests.model)
  }

  /// A flat image has no MSCN texture (pyiqa's pinv fails): an error that says why, never a number.
  @Test func flatImageIsAnErrorNotNaN() {
    let flat = Image(width: 200, height: 100, fill: (90, 90, 90))
    #expect { try NIQEMetric(model: NIQETests.model).evaluate(reference: nil, distorted: flat) } throws: { "\($0)".contains("too flat") }
  }

  @Test func aCorruptModelFileIsNamed() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("misc-niqe-bad-\(UUID().uuidString).json").path
    try Data(#"{"mu_pris_param": [1, 2]}"#.utf8).write(to: URL(fileURLWithPath: path))
    #expect { try NIQEModel.load(path: path) } throws: { "\($0)".contains(path) }
  }
}
