import Foundation
import MISCImage
import MISCMetrics

/// Runs a reference codec at a byte target: per image, the best setting whose file is no larger
/// than the target; the smallest setting when none fits.
public enum MatchedRate {
  /// The outcome of a search over a ladder of settings.
  public struct Pick: Sendable, Equatable {
    /// The ladder index chosen.
    public var setting: Int
    public var bytes: Int
    /// False when even the smallest setting exceeds the target (the pick is then setting 0).
    public var fits: Bool
  }

  /// The largest index of `count` settings whose size is at most `target`, by bisection over an
  /// (almost) increasing size. Only sizes actually measured are trusted, so a non-monotone ladder
  /// may cost a slightly smaller setting but never a file over the target.
  public static func search(count: Int, target: Int, size: (Int) throws -> Int) rethrows -> Pick {
    precondition(count > 0)
    let smallest = try size(0)
    guard smallest <= target else { return Pick(setting: 0, bytes: smallest, fits: false) }
    var low = 0, lowBytes = smallest, high = count - 1
    while low < high {
      let middle = (low + high + 1) / 2
      let bytes = try size(middle)
      if bytes <= target { (low, lowBytes) = (middle, bytes) } else { high = middle - 1 }
    }
    return Pick(setting: low, bytes: lowBytes, fits: true)
  }

  /// One coded image: its decoded pixels at full size and what it cost.
  public struct Coded: Sendable {
    public var image: Image
    public var bytes: Int
    public var fits: Bool
    /// "q37", or "1/4 q55" in the downscaled mode.
    public var settings: String
    public var encodeSeconds: Double
    public var decodeSeconds: Double
  }

  /// Encodes `image` with `codec` at the best setting within `target` bytes. `scratch` is a
  /// directory the caller owns. The encode time is that of the chosen setting alone.
  public static func code(_ image: Image, codec: ReferenceCodec, target: Int, scratch: URL) throws -> Coded {
    let input = try CodecInput.write(image, stem: scratch.appendingPathComponent("source").path)
    func bitstream(_ index: Int) -> String { scratch.appendingPathComponent("s\(index).\(codec.fileExtension)").path }
    let pick = try search(count: codec.ladder.count, target: target) { index in
      try codec.encode(input, setting: index, to: bitstream(index))
      return try ReferenceCodec.fileSize(bitstream(index))
    }
    let start = Date()
    try codec.encode(input, setting: pick.setting, to: bitstream(pick.setting))
    let encodeSeconds = Date().timeIntervalSince(start)
    let decodeStart = Date()
    let decoded = try codec.decode(bitstream(pick.setting), scratch: scratch.appendingPathComponent("decoded.png").path)
    let decodeSeconds = Date().timeIntervalSince(decodeStart)
    guard decoded.width == image.width, decoded.height == image.height else {
      throw BenchError("\(codec.rawValue) decoded \(decoded.width)x\(decoded.height), expected \(image.width)x\(image.height)")
    }
    return Coded(image: decoded, bytes: pick.bytes, fits: pick.fits, settings: codec.ladder[pick.setting],
                 encodeSeconds: encodeSeconds, decodeSeconds: decodeSeconds)
  }

  /// The downscaling factors of the downscaled mode.
  public static let downscaleFactors = [2, 4, 8]

  /// The downscaled mode: encode at 1/2, 1/4 and 1/8 size (area-averaged), upsample bicubically,
  /// and keep the scale with the best PSNR among those that fit; when none fits, the smallest file.
  /// A scale the codec cannot code (too small for it) is skipped.
  public static func codeDownscaled(_ image: Image, codec: ReferenceCodec, target: Int, scratch: URL) throws -> Coded {
    var best: (coded: Coded, psnr: Double)? = nil
    var firstError: (any Error)? = nil
    for factor in downscaleFactors {
      let width = max(1, Int((Double(image.width) / Double(factor)).rounded()))
      let height = max(1, Int((Double(image.height) / Double(factor)).rounded()))
      do {
        let small = Resample.area(image, width: width, height: height)
        var coded = try code(small, codec: codec, target: target, scratch: scratch)
        let start = Date()
        coded.image = Resample.bicubic(coded.image, width: image.width, height: image.height)
        coded.decodeSeconds += Date().timeIntervalSince(start)
        coded.settings = "1/\(factor) \(coded.settings)"
        let psnr = PSNR.psnr(coded.image, image)
        if let current = best {
          let better = coded.fits != current.coded.fits ? coded.fits
            : coded.fits ? psnr > current.psnr : coded.bytes < current.coded.bytes
          if better { best = (coded, psnr) }
        } else {
          best = (coded, psnr)
        }
      } catch {
        firstError = firstError ?? error
      }
    }
    guard let best else { throw firstError ?? BenchError("\(codec.rawValue): no scale could be coded") }
    return best.coded
  }
}
