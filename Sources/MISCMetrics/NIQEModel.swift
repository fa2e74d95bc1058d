import Foundation

/// NIQE's pristine model: the multivariate Gaussian of 36 patch features fitted by Mittal et al.
/// (2013) on pristine photographs. Read from `niqe_pris_params.json` (the BasicSR redistribution).
public struct NIQEModel: Sendable, Hashable {
  public static let featureCount = 36
  /// The file name the model is read from, inside a `niqe` folder.
  public static let fileName = "niqe_pris_params.json"
  /// [36]
  public var mean: [Double]
  /// [36, 36], row-major.
  public var covariance: [Double]

  public init(mean: [Double], covariance: [Double]) {
    precondition(mean.count == Self.featureCount && covariance.count == Self.featureCount * Self.featureCount)
    self.mean = mean
    self.covariance = covariance
  }

  private struct File: Decodable {
    var mu_pris_param: [Double]
    var cov_pris_param: [[Double]]
  }

  /// Reads `path`; the error names the file and what is wrong with it.
  public static func load(path: String) throws -> NIQEModel {
    let folder = (path as NSString).deletingLastPathComponent
    guard let data = FileManager.default.contents(atPath: path) else {
      throw MetricError.weightsMissing(metric: .niqe, folder: folder, detail: "no readable \(fileName)", command: copyCommand(folder))
    }
    let file: File
    do {
      file = try JSONDecoder().decode(File.self, from: data)
    } catch {
      throw MetricError.notAvailable(.niqe, "\(path) is not a NIQE pristine model (mu_pris_param, cov_pris_param): \(error)")
    }
    let n = featureCount
    guard file.mu_pris_param.count == n, file.cov_pris_param.count == n, file.cov_pris_param.allSatisfy({ $0.count == n }) else {
      throw MetricError.notAvailable(.niqe, "\(path): the pristine model needs a \(n)-vector mean and a \(n)x\(n) covariance")
    }
    return NIQEModel(mean: file.mu_pris_param, covariance: file.cov_pris_param.flatMap { $0 })
  }

  /// The model in `DIR/niqe/` for `--metric-models DIR` (or `MISC_METRIC_MODELS`), else in
  /// `$MISC_DATA/niqe/` (the shared data folder); the error names where it looked.
  public static func locate(models: MetricModels,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NIQEModel {
    try load(path: path(models: models, environment: environment))
  }

  /// Where `locate` finds the model file.
  public static func path(models: MetricModels,
                          environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
    var folders: [String] = []
    if let directory = models.directory { folders.append(directory + "/niqe") }
    if let data = environment["MISC_DATA"], !data.isEmpty { folders.append(data + "/niqe") }
    for folder in folders where FileManager.default.fileExists(atPath: folder + "/" + fileName) {
      return folder + "/" + fileName
    }
    let shown = folders.isEmpty ? "DIR/niqe (no --metric-models, MISC_METRIC_MODELS or MISC_DATA given)" : folders.joined(separator: " and ")
    throw MetricError.weightsMissing(metric: .niqe, folder: shown, detail: "no \(fileName) (the MATLAB NIQE pristine model)",
                                     command: copyCommand(folders.first ?? "DIR/niqe"))
  }

  private static func copyCommand(_ folder: String) -> String {
    "mkdir -p \(folder) && cp ../shared/data/niqe/\(fileName) \(folder)/"
  }
}
