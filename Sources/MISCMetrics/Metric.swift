import Foundation
import MISCImage

/// The quality metrics MISC reports: the paper's Table III (LPIPS, ClipSIM, NIQE, CLIP-IQA) and
/// the signal metrics of today's ultra-low-bitrate papers (PSNR, SSIM, MS-SSIM, DISTS).
public enum MetricID: String, CaseIterable, Codable, Sendable, Comparable {
  case psnr
  case ssim
  case msssim
  /// LPIPS v0.1 on AlexNet features (the `lpips` package's default, and the paper's).
  case lpips
  /// LPIPS v0.1 on VGG16 features.
  case lpipsVGG = "lpips-vgg"
  case dists
  case clipsim
  case clipiqa
  case niqe

  /// The name a table prints.
  public var label: String {
    switch self {
    case .psnr: "PSNR"
    case .ssim: "SSIM"
    case .msssim: "MS-SSIM"
    case .lpips: "LPIPS"
    case .lpipsVGG: "LPIPS-VGG"
    case .dists: "DISTS"
    case .clipsim: "ClipSIM"
    case .clipiqa: "CLIP-IQA"
    case .niqe: "NIQE"
    }
  }

  /// Whether a larger score is a better image (the sign of eq. 10's column weight).
  public var higherIsBetter: Bool {
    switch self {
    case .psnr, .ssim, .msssim, .clipsim, .clipiqa: true
    case .lpips, .lpipsVGG, .dists, .niqe: false
    }
  }

  /// No-reference metrics score one image; the others compare a distorted image to its reference.
  public var isNoReference: Bool { self == .niqe || self == .clipiqa }

  /// Whether the metric runs a network whose weights the user provides.
  public var needsWeights: Bool {
    switch self {
    case .psnr, .ssim, .msssim, .niqe: false
    case .lpips, .lpipsVGG, .dists, .clipsim, .clipiqa: true
    }
  }

  /// Parses a comma-separated list such as `psnr,msssim,niqe`, keeping the order given.
  public static func parseList(_ text: String) throws -> [MetricID] {
    var ids: [MetricID] = []
    for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !part.isEmpty {
      guard let id = MetricID(rawValue: part) else {
        throw MetricError.unknownMetric(part, known: MetricID.allCases.map(\.rawValue))
      }
      if !ids.contains(id) { ids.append(id) }
    }
    guard !ids.isEmpty else { throw MetricError.unknownMetric(text, known: MetricID.allCases.map(\.rawValue)) }
    return ids
  }

  public static func < (a: MetricID, b: MetricID) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// What every metric says about itself.
public protocol QualityMetric: Sendable {
  var id: MetricID { get }
  /// The weights behind the score, as a report states them ("openai/clip-vit-base-patch16"); nil when weight-free.
  var modelID: String? { get }
  /// The smallest width and height the metric accepts.
  var minimumSide: Int { get }
}

/// A metric that compares a distorted image with its reference (PSNR, LPIPS, …).
public protocol FullReferenceMetric: QualityMetric {
  func score(reference: Image, distorted: Image) throws -> Double
}

/// A metric that scores one image on its own (NIQE, CLIP-IQA).
public protocol NoReferenceMetric: QualityMetric {
  func score(_ image: Image) throws -> Double
}

extension QualityMetric {
  /// Checks the size rule every metric shares before it allocates anything.
  public func checkSize(_ image: Image) throws {
    guard image.width >= minimumSide, image.height >= minimumSide else {
      throw MetricError.imageTooSmall(metric: id, width: image.width, height: image.height, minimum: minimumSide)
    }
  }

  /// Scores `distorted` against `reference`; a no-reference metric scores `distorted` alone.
  public func evaluate(reference: Image?, distorted: Image) throws -> Double {
    switch self {
    case let metric as any FullReferenceMetric:
      guard let reference else { throw MetricError.needsReference(id) }
      guard reference.width == distorted.width, reference.height == distorted.height else {
        throw MetricError.sizeMismatch(reference: (reference.width, reference.height), distorted: (distorted.width, distorted.height))
      }
      try checkSize(distorted)
      return try metric.score(reference: reference, distorted: distorted)
    case let metric as any NoReferenceMetric:
      try checkSize(distorted)
      return try metric.score(distorted)
    default:
      preconditionFailure("\(id) is neither a full-reference nor a no-reference metric")
    }
  }
}

/// Why a metric could not score.
public enum MetricError: Error, Equatable, CustomStringConvertible {
  case unknownMetric(String, known: [String])
  case needsReference(MetricID)
  case sizeMismatch(reference: (Int, Int), distorted: (Int, Int))
  case imageTooSmall(metric: MetricID, width: Int, height: Int, minimum: Int)
  /// The metric's weight folder is missing or incomplete: where it looked, and how to make it.
  case weightsMissing(metric: MetricID, folder: String, detail: String, command: String)
  case notAvailable(MetricID, String)

  public var description: String {
    switch self {
    case let .unknownMetric(name, known):
      "unknown metric '\(name)' (known: \(known.joined(separator: ", ")))"
    case let .needsReference(id):
      "\(id.label) compares two images: give a reference"
    case let .sizeMismatch(r, d):
      "the images differ in size: reference \(r.0)x\(r.1), distorted \(d.0)x\(d.1)"
    case let .imageTooSmall(id, w, h, minimum):
      "\(id.label) needs at least \(minimum)x\(minimum) pixels; the image is \(w)x\(h)"
    case let .weightsMissing(id, folder, detail, command):
      "\(id.label) needs weights: \(detail) in \(folder); make them with: \(command)"
    case let .notAvailable(id, why):
      "\(id.label) is not available: \(why)"
    }
  }

  public static func == (a: MetricError, b: MetricError) -> Bool { a.description == b.description }
}

/// Where the metrics' weight folders are: `--metric-models DIR`, else `MISC_METRIC_MODELS`.
/// The CLIP folder for ClipSIM defaults to the locator's (`MISC_CLIP_MODEL`).
public struct MetricModels: Sendable, Hashable {
  public var directory: String?
  public var clipModel: String?

  public init(directory: String? = nil, clipModel: String? = nil) {
    self.directory = directory
    self.clipModel = clipModel
  }

  /// Flags first, then the environment.
  public static func resolve(directory: String?, clipModel: String?,
                             environment: [String: String] = ProcessInfo.processInfo.environment) -> MetricModels {
    MetricModels(directory: directory ?? environment["MISC_METRIC_MODELS"].flatMap { $0.isEmpty ? nil : $0 },
                 clipModel: clipModel ?? environment["MISC_CLIP_MODEL"].flatMap { $0.isEmpty ? nil : $0 })
  }
}
