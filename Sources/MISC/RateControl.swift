import Foundation
import MISCCoding
import MISCImage
import MISCMetrics

/// Chooses the thumbnail's size, quality and encoder λ for a whole-file byte budget, maximising
/// the PSNR of I_ref (the bicubic upsample) against the original at full resolution. The file it
/// returns never exceeds the budget. Only encoder choices are made here: every file it writes is
/// an ordinary file of the prefix's format version (docs/THUMBNAIL.md, "Rate control").
///
/// At a fixed budget, the PSNR of I_ref over the thumbnail's size is a broad plateau: on Kodak,
/// with the budget filled, it moves by 0.1 to 0.3 dB between thumbnails that get 0.1 and 0.3
/// bits a pixel (best near 0.1), about what one quality step (9% of the bytes) is worth. So
/// rather than scan sizes, the search
///
/// 1. predicts the size from the bytes the thumbnail's pixels can have (the budget less the
///    rest of the file and `thumbnailOverheadBytes`): the image's own size when that gives it at
///    least `ownSizeBitsPerPixel` (no downsampling and no upsampling: 0.25 dB better than a
///    slightly smaller thumbnail on Kodak at 0.2 bpp), else the size that gets
///    `targetBitsPerPixel`;
/// 2. fills each size it tries to between `acceptFraction` of the budget and the budget, along
///    a continuous rate position (`Position`: the quality index, and between two qualities the
///    encoder's λ scaled down, which buys bytes at the same distortion a byte as the next
///    quality). Where to code is predicted by scaling the bytes of a thumbnail already coded by
///    the ratio of `ThumbnailCodec.RateProxy` values, so most sizes take one or two codings; the
///    first size is preceded by a probe a third of its side, coded once;
/// 3. unless the predicted size is the largest allowed (the image's own size, or the format's
///    largest thumbnail when the budget gives it more than `targetBitsPerPixel`), climbs from it
///    `sizeStep` at a time, down first, while the filled PSNR rises, filling at most `maxSizes`
///    sizes (with the default 2: the predicted size and one 15% smaller).
///
/// Every file it codes that fits is a candidate; the best one is returned.
public struct RateControl: Sendable {
  /// Thumbnail bits per pixel that the predicted size aims at when it is not the image's own
  /// size, counting the thumbnail's share of the budget less `thumbnailOverheadBytes`.
  public var targetBitsPerPixel = 0.1
  /// Bytes of the thumbnail's share taken as buying no pixels (its size field, quality, low band
  /// and band flags, roughly): at the smallest budgets the predicted thumbnail is then smaller
  /// than the bits per pixel alone would make it, as the best ones are (fitted on Kodak from
  /// 0.001 to 0.05 bpp; it barely moves the size above about 1 KB).
  public var thumbnailOverheadBytes = 30.0
  /// The image's own size is the predicted size when its pixels get at least this many bits
  /// each (counted as for `targetBitsPerPixel`), and then the only size filled.
  public var ownSizeBitsPerPixel = 0.09
  /// The climb's step: each next size has this fraction fewer (or more) pixels on a side.
  public var sizeStep = 0.15
  /// The most sizes a climb fills (the probe not counted)…
  public var maxSizes = 2
  /// …unless the sizes filled so far hold fewer thumbnail pixels than this in all: tiny
  /// thumbnails cost little to try, and at the smallest budgets the best size varies most from
  /// image to image (on Kodak at 0.001 bpp, from 15×22 to 64×43).
  public var smallSearchPixels = 30_000.0
  /// Each trial aims at this fraction of the budget…
  public var aimFraction = 0.99
  /// …and a size's search ends at the first fitting file at least this full.
  public var acceptFraction = 0.97
  /// The most codings one size's search makes.
  public var maxTrialsPerSize = 5
  /// When the first size filled has at least this many pixels, a probe thumbnail of a third of
  /// its side is coded once first, at the position predicted for the size: the size's first
  /// trial then lands within about 5% of its aim instead of 9% (standard deviations, Kodak at
  /// 0.2 bpp), and the probe costs about a ninth of a trial.
  public var probeMinimumPixels = 40_000.0

  public init() {}

  public struct Choice: Sendable {
    public var encoded: Container.Encoded
    /// The thumbnail coded, or nil when not even the smallest one fits.
    public var thumbnailSize: (width: Int, height: Int)?
    public var quality: Int?
    /// The factor on the thumbnail encoder's λ (`ThumbnailCodec.encode`), 1 when not scaled.
    public var lambdaFactor: Double
    /// PSNR of I_ref against the original, in dB.
    public var referencePSNR: Double
    /// How many thumbnails were coded during the search.
    public var trials: Int
  }

  /// One continuous rate position: `value` ∈ [0, `Position.upperBound`]. Its integer part is the
  /// quality index (at most the last); the rest, t, scales the encoder's λ by
  /// exp(−t · `lambdaSpan`), which adds bytes up to about the next quality's. Past the last
  /// quality t runs on to 3 (λ × 0.46), for budgets that even the finest quality leaves unused.
  /// Thumbnail bytes grow about exponentially with the position.
  struct Position {
    var value: Double
    /// ln of the λ factor that spans one quality step of bytes: the file grows by about 9% a
    /// quality step, and by about a third of |Δ ln λ| when λ falls (measured on Kodak).
    static let lambdaSpan = 0.26
    static let lastQuality = ThumbnailCodec.qualityLevels - 1
    static let upperBound = Double(lastQuality) + 3

    init(_ value: Double) { self.value = min(max(value, 0), Self.upperBound) }
    var quality: Int { min(Int(value.rounded(.down)), Self.lastQuality) }
    var lambdaFactor: Double {
      let t = value - Double(quality)
      return t < 0.01 ? 1 : exp(-t * Self.lambdaSpan)
    }
  }

  /// Finish `prefix` with the best thumbnail of `image` that keeps the file within `budgetBytes`,
  /// or nil if even a file without a thumbnail does not fit.
  public func choose(image: Image, prefix: Container.Prefix, budgetBytes: Int) -> Choice? {
    let bare = prefix.finish(thumbnail: nil, quality: 0)
    guard bare.bytes.count <= budgetBytes else { return nil }
    // Without a thumbnail, I_ref is mid-grey.
    let greyError = image.pixels.reduce(UInt64(0)) { sum, sample in
      let d = Int(sample) - 128
      return sum + UInt64(d * d)
    }
    var best = Choice(encoded: bare, thumbnailSize: nil, quality: nil, lambdaFactor: 1,
                      referencePSNR: PSNR.fromMSE(Double(greyError) / Double(image.pixels.count)), trials: 0)
    let long = max(image.width, image.height)
    let limit = min(long, prefix.profile.thumbnail.maxSide)
    var search = Search(image: image, prefix: prefix, budgetBytes: budgetBytes, bareBytes: bare.bytes.count,
                        configuration: self)

    // 1. The predicted size, from the bits the thumbnail's pixels can have.
    let pixelBits = max(Double(budgetBytes - bare.bytes.count) - thumbnailOverheadBytes, 1) * 8
    let ownSize = long <= limit && pixelBits / Double(image.pixelCount) >= ownSizeBitsPerPixel
    let first = ownSize ? limit : search.side(pixels: pixelBits / targetBitsPerPixel, limit: limit)

    // 2 and 3. Fill it, then climb (down first) while the filled PSNR rises; a size whose
    // smallest file overflows sends the climb down until one fits.
    var scores: [Int: Double] = [:]
    var filledPixels = 0.0
    @discardableResult
    func score(_ side: Int) -> Double {
      if let known = scores[side] { return known }
      filledPixels += search.pixels(side)
      let result = search.fill(side: side)
      if let result, result.referencePSNR > best.referencePSNR { best = result }
      scores[side] = result?.referencePSNR ?? -.infinity
      return scores[side]!
    }
    var side = first
    while score(side) == -.infinity && side > 1 {
      side = min(side - 1, Int((Double(side) * (1 - sizeStep)).rounded()))
    }
    if first < limit {
      for direction in [-1.0, 1.0] {
        var moved = false
        while scores.count < maxSizes || filledPixels < smallSearchPixels,
              let current = best.thumbnailSize.map({ max($0.width, $0.height) }) {
          let next = min(limit, max(1, Int((Double(current) * (1 + direction * sizeStep)).rounded())))
          guard next != current, scores[next] == nil else { break }
          let before = best.referencePSNR
          guard score(next) > before else { break }
          moved = true
        }
        if moved { break }
      }
    }
    best.trials = search.trials
    return best
  }

  /// The per-size work of a search: analyses, coding trials and scores, and the byte model that
  /// says where on the rate position to code next.
  private struct Search {
    let image: Image
    let prefix: Container.Prefix
    let budgetBytes: Int
    /// The file without a thumbnail: what every file spends before it.
    let bareBytes: Int
    let configuration: RateControl
    var trials = 0
    /// Every thumbnail coded so far: its size's pixels and rate proxy, its position and its
    /// thumbnail bytes (the file's bytes beyond `bareBytes`).
    var coded: [(pixels: Double, proxy: ThumbnailCodec.RateProxy, position: Double, bytes: Double)] = []

    init(image: Image, prefix: Container.Prefix, budgetBytes: Int, bareBytes: Int, configuration: RateControl) {
      self.image = image
      self.prefix = prefix
      self.budgetBytes = budgetBytes
      self.bareBytes = bareBytes
      self.configuration = configuration
    }

    func size(_ side: Int) -> (width: Int, height: Int) {
      Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: side)
    }

    func pixels(_ side: Int) -> Double {
      let s = size(side)
      return Double(s.width * s.height)
    }

    /// The long side whose thumbnail has about `pixels` pixels, within 1...`limit`.
    func side(pixels: Double, limit: Int) -> Int {
      let long = Double(max(image.width, image.height)), short = Double(min(image.width, image.height))
      return min(limit, max(1, Int((pixels * long / short).squareRoot().rounded())))
    }

    /// The thumbnail bytes each trial aims at.
    var aim: Double { Double(budgetBytes) * configuration.aimFraction - Double(bareBytes) }

    /// The rate proxy at a position: between two qualities, interpolated geometrically; past
    /// the last quality, grown by `slopePastLastQuality` a unit.
    static func proxy(_ proxy: ThumbnailCodec.RateProxy, at position: Double) -> Double {
      let quality = Position(position).quality, t = position - Double(quality)
      let here = max(proxy.values[quality], 1)
      guard t > 0 else { return here }
      guard quality < Position.lastQuality else { return here * exp(t * Self.slopePastLastQuality) }
      return here * pow(max(proxy.values[quality + 1], 1) / here, t)
    }

    /// The position of a size (its pixels and proxy) whose thumbnail bytes are predicted to be
    /// `target`. The prediction scales a coded thumbnail's bytes by the ratio of the proxies:
    /// one of the same size if there is one (the nearest in bytes to the target), else one of
    /// the nearest size; before anything is coded, `RateProxy.bitsPerUnit`.
    func position(for target: Double, pixels: Double, proxy: ThumbnailCodec.RateProxy) -> Double {
      let reference = coded.min { a, b in
        let (da, db) = (abs(log(a.pixels / pixels)), abs(log(b.pixels / pixels)))
        if abs(da - db) > 1e-9 { return da < db }
        return abs(log(a.bytes / target)) < abs(log(b.bytes / target))
      }
      // Thumbnail bytes per unit of the proxy.
      let scale = reference.map { $0.bytes / Self.proxy($0.proxy, at: $0.position) } ?? ThumbnailCodec.RateProxy.bitsPerUnit / 8
      let goal = target / scale
      let values = proxy.values.map { max($0, 1) }
      guard values[0] < goal else { return 0 }
      guard let above = values.firstIndex(where: { $0 > goal }) else {
        return Double(Position.lastQuality) + log(goal / values[Position.lastQuality]) / Self.slopePastLastQuality
      }
      let quality = above - 1
      return Double(quality) + min(log(goal / values[quality]) / log(values[above] / values[quality]), 0.99)
    }

    /// Codes a thumbnail of long side `side` once, at `position`, as a reference for the
    /// predictions of a larger size at that position.
    mutating func probe(side: Int, at position: Position) {
      let s = size(side)
      let small = Resample.area(image, width: s.width, height: s.height)
      let analysis = ThumbnailCodec.analyse(rgb: small.pixels, width: s.width, height: s.height, profile: prefix.profile)
      let encoded = prefix.finishWithLevels(analysed: analysis, quality: position.quality,
                                            lambdaFactor: position.lambdaFactor).encoded
      trials += 1
      coded.append((pixels(side), ThumbnailCodec.RateProxy(analysis), position.value, Double(max(encoded.bytes.count - bareBytes, 1))))
    }

    /// The best file at this long side, filled towards the budget, or nil if none fits: a search
    /// along the rate position that stops at the first fitting file of at least `acceptFraction`
    /// of the budget, when the bracket [fits, overflows] closes, or after `maxTrialsPerSize`.
    mutating func fill(side: Int) -> Choice? {
      let s = size(side)
      let area = pixels(side)
      let small = Resample.area(image, width: s.width, height: s.height)
      let analysis = ThumbnailCodec.analyse(rgb: small.pixels, width: s.width, height: s.height, profile: prefix.profile)
      let proxy = ThumbnailCodec.RateProxy(analysis)
      let accept = Double(budgetBytes) * configuration.acceptFraction
      if coded.isEmpty && area >= configuration.probeMinimumPixels {
        probe(side: max(1, Int((Double(side) / 3).rounded())), at: Position(position(for: aim, pixels: area, proxy: proxy)))
      }
      var low = -Double.infinity, high = Double.infinity  // positions known to fit / to overflow
      var tried: Set<Double> = []
      var best: (position: Position, encoded: Container.Encoded, levels: ThumbnailCodec.Levels)? = nil
      for _ in 0..<configuration.maxTrialsPerSize {
        var value = position(for: aim, pixels: area, proxy: proxy)
        if low > -.infinity && high < .infinity {
          if value <= low || value >= high { value = (low + high) / 2 }
        } else if low > -.infinity {
          value = max(value, low + Self.resolution)
        } else if high < .infinity {
          value = min(value, high - Self.resolution)
        }
        let position = Position(value)
        guard !tried.contains(position.value) else { break }
        tried.insert(position.value)
        let (encoded, levels) = prefix.finishWithLevels(analysed: analysis, quality: position.quality,
                                                        lambdaFactor: position.lambdaFactor)
        trials += 1
        let bytes = encoded.bytes.count
        coded.append((area, proxy, position.value, Double(max(bytes - bareBytes, 1))))
        if bytes <= budgetBytes {
          if best.map({ bytes > $0.encoded.bytes.count }) ?? true { best = (position, encoded, levels!) }
          low = max(low, position.value)
          if Double(bytes) >= accept || position.value >= Position.upperBound { break }
        } else {
          high = min(high, position.value)
          if position.value <= 0 { break }
        }
        if high - low < Self.resolution { break }
      }
      guard let best else { return nil }
      // I_ref's PSNR, exactly as `MISCDecoder.reference` then `PSNR.psnr` give it.
      let decoded = Image(width: s.width, height: s.height, pixels: best.levels.reconstruction())
      let psnr = PSNR.fromMSE(Double(Resample.bicubicSquaredError(decoded, against: image)) / Double(image.pixels.count))
      return Choice(encoded: best.encoded, thumbnailSize: s, quality: best.position.quality,
                    lambdaFactor: best.position.lambdaFactor, referencePSNR: psnr, trials: trials)
    }

    /// Positions closer than this are not told apart.
    static let resolution = 0.05
    /// The growth of ln(thumbnail bytes) a unit of position past the last quality, where the
    /// proxy no longer changes: a typical quality step's.
    static let slopePastLastQuality = 0.087
  }
}
