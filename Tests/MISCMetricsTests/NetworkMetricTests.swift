import Foundation
import MISCImage
import MISCNeural
import Testing
@testable import MISCMetrics

/// LPIPS (alex, vgg) and DISTS against the `lpips` package and pyiqa, on Kodak crops, with the real heads
/// (committed, converted from the wheels) on full-size backbones with deterministic random weights. All numbers
/// come from scripts/fixtures/make_network_metric_fixtures.py.
@Suite struct NetworkMetricTests {
  static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("networks")
  static let models = MetricModels(directory: root.appendingPathComponent("models").path)

  struct Expected: Decodable, Sendable {
    var width: Int, height: Int
    var lpips: Double, lpipsVGG: Double, dists: Double
    var lpipsLayers: [Double], lpipsVGGLayers: [Double]
    enum CodingKeys: String, CodingKey {
      case width, height, lpips, dists
      case lpipsVGG = "lpips-vgg", lpipsLayers = "lpips-layers", lpipsVGGLayers = "lpips-vgg-layers"
    }
  }

  static let expected: [String: Expected] = {
    let data = (try? Data(contentsOf: root.appendingPathComponent("scores.json"))) ?? Data("{}".utf8)
    return (try? JSONDecoder().decode([String: Expected].self, from: data)) ?? [:]
  }()
  static let pairs = expected.keys.sorted()

  static let alexWeights = FanInRandomTensors(shapes: AlexNetFeatures.weightShapes())
  static let vggWeights = FanInRandomTensors(shapes: VGG16Features.weightShapes())

  static func images(_ name: String) throws -> (reference: Image, distorted: Image) {
    (try ImageIO.read(path: root.appendingPathComponent("\(name)-reference.png").path).image,
     try ImageIO.read(path: root.appendingPathComponent("\(name)-distorted.png").path).image)
  }

  static func heads(_ folder: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: models.directory! + "/\(folder)/model.safetensors")
  }

  static func relativeError(_ ours: Double, _ reference: Double) -> Double { abs(ours - reference) / abs(reference) }

  @Test func fixturesArePresent() {
    #expect(Self.pairs.count == 3)
  }

  @Test(arguments: pairs) func lpipsAlexMatchesTheLPIPSPackage(_ name: String) throws {
    let (reference, distorted) = try Self.images(name)
    let metric = try LPIPS(backbone: .alex(AlexNetFeatures(weights: Self.alexWeights)), heads: Self.heads("lpips-alex"))
    let expected = try #require(Self.expected[name])
    let layers = metric.layerDistances(reference: reference, distorted: distorted)
    for (ours, theirs) in zip(layers, expected.lpipsLayers) { #expect(Self.relativeError(ours, theirs) < 1e-4, "\(name) layer") }
    let score = try metric.evaluate(reference: reference, distorted: distorted)
    #expect(Self.relativeError(score, expected.lpips) < 1e-4, "\(name): \(score) vs \(expected.lpips)")
  }

  @Test(arguments: pairs) func lpipsVGGMatchesTheLPIPSPackage(_ name: String) throws {
    let (reference, distorted) = try Self.images(name)
    let metric = try LPIPS(backbone: .vgg(VGG16Features(weights: Self.vggWeights)), heads: Self.heads("lpips-vgg"))
    let expected = try #require(Self.expected[name])
    let layers = metric.layerDistances(reference: reference, distorted: distorted)
    for (ours, theirs) in zip(layers, expected.lpipsVGGLayers) { #expect(Self.relativeError(ours, theirs) < 1e-4, "\(name) layer") }
    let score = try metric.evaluate(reference: reference, distorted: distorted)
    #expect(Self.relativeError(score, expected.lpipsVGG) < 1e-4, "\(name): \(score) vs \(expected.lpipsVGG)")
  }

  @Test(arguments: pairs) func distsMatchesPyiqa(_ name: String) throws {
    let (reference, distorted) = try Self.images(name)
    let metric = try DISTS(features: VGG16Features(weights: Self.vggWeights, downsampling: .l2Pool), weights: Self.heads("dists"))
    let expected = try #require(Self.expected[name])
    let score = try metric.evaluate(reference: reference, distorted: distorted)
    #expect(Self.relativeError(score, expected.dists) < 1e-4, "\(name): \(score) vs \(expected.dists)")
  }

  @Test func identicalImagesScoreZero() throws {
    let (reference, _) = try Self.images("house-67x53")
    let lpips = try LPIPS(backbone: .alex(AlexNetFeatures(weights: Self.alexWeights)), heads: Self.heads("lpips-alex"))
    #expect(try lpips.score(reference: reference, distorted: reference) == 0)
    let dists = try DISTS(features: VGG16Features(weights: Self.vggWeights, downsampling: .l2Pool), weights: Self.heads("dists"))
    let same = try dists.score(reference: reference, distorted: reference)
    #expect(abs(same) < 1e-9, "\(same)")
  }

  /// Weights read from a metric models directory give the same score as the same weights in memory.
  @Test func loadsTheDocumentedFolderLayout() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("misc-metric-models-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    try writeSafeTensors(Self.alexWeights, to: directory.appendingPathComponent("alexnet/model.safetensors"))
    try FileManager.default.createDirectory(at: directory.appendingPathComponent("lpips-alex"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: Self.root.appendingPathComponent("models/lpips-alex/model.safetensors"),
                                     to: directory.appendingPathComponent("lpips-alex/model.safetensors"))
    let metric = try MetricRegistry.make(.lpips, models: MetricModels(directory: directory.path))
    #expect(metric.id == .lpips && metric.modelID != nil)
    let (reference, distorted) = try Self.images("parrots-64x64")
    let score = try metric.evaluate(reference: reference, distorted: distorted)
    #expect(Self.relativeError(score, try #require(Self.expected["parrots-64x64"]).lpips) < 1e-4)
  }

  @Test func missingWeightsNameTheFolderAndTheCommand() throws {
    let empty = FileManager.default.temporaryDirectory.appendingPathComponent("misc-no-models-\(UUID().uuidString)").path
    for (id, folder) in [(MetricID.lpips, "alexnet"), (.lpipsVGG, "vgg16"), (.dists, "vgg16")] {
      do {
        _ = try MetricRegistry.make(id, models: MetricModels(directory: empty))
        Issue.record("\(id) loaded without weights")
      } catch let error as MetricError {
        guard case let .weightsMissing(metric, looked, _, command) = error else { Issue.record("\(error)"); continue }
        #expect(metric == id && looked == empty + "/" + folder)
        #expect(command.hasPrefix("python scripts/convert_weights.py --out \(empty) "))
      }
    }
    // The heads are there, the backbone is not: the error names the backbone's folder.
    do {
      _ = try MetricRegistry.make(.dists, models: Self.models)
      Issue.record("DISTS loaded without VGG16")
    } catch let MetricError.weightsMissing(_, looked, _, _) {
      #expect(looked == Self.models.directory! + "/vgg16")
    }
    do {
      _ = try MetricRegistry.make(.lpips, models: MetricModels())
      Issue.record("LPIPS loaded with no models directory")
    } catch let error as MetricError {
      #expect(error.description.contains("--metric-models DIR") && error.description.contains("MISC_METRIC_MODELS"))
    }
  }

  @Test func tooSmallImagesAreRefusedWithTheMinimum() throws {
    let metric = try LPIPS(backbone: .alex(AlexNetFeatures(weights: Self.alexWeights)), heads: Self.heads("lpips-alex"))
    let small = Image(width: 30, height: 40, fill: (1, 2, 3))
    #expect(throws: MetricError.imageTooSmall(metric: .lpips, width: 30, height: 40, minimum: 31)) {
      try metric.evaluate(reference: small, distorted: small)
    }
  }
}

/// Writes every tensor of `source` as an F32 safetensors file (test-only: the project reads, never writes, weights).
func writeSafeTensors(_ source: any TensorSource, to url: URL) throws {
  var header: [String] = []
  var data: [UInt8] = []
  for name in source.tensorNames {
    let tensor = try source.tensor(name)
    let begin = data.count
    for value in tensor.scalars { withUnsafeBytes(of: value.bitPattern.littleEndian) { data += $0 } }
    header.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(begin),\(data.count)]}")
  }
  var json = Array(("{" + header.joined(separator: ",") + "}").utf8)
  while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
  var length = UInt64(json.count).littleEndian
  var bytes = withUnsafeBytes(of: &length) { Array($0) }
  bytes += json + data
  try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
  try Data(bytes).write(to: url)
}
