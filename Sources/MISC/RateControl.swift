import Foundation
import MISCCoding
import MISCImage
import MISCMetrics

/// Chooses the thumbnail's size and quality for a whole-file byte budget, maximising the PSNR
/// of I_ref (the bicubic upsample) against the original at full resolution. The file it
/// returns never exceeds the budget.
public struct RateControl: Sendable {
  /// The thumbnail long sides a search may pick, smallest first.
  /// Sizes above the format's largest thumbnail side (`FormatProfile.Thumbnail.maxSide`) or the
  /// image's long side are skipped.
  public var longSides: [Int] = [4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 36, 40, 44, 48, 52, 56,
                                 64, 72, 80, 88, 96, 112, 128, 144, 160, 192, 224, 256,
                                 288, 320, 352, 384, 448, 512, 576, 640, 704, 768, 896, 1024]
  /// Sizes whose thumbnail would get fewer bits a pixel than this from the whole budget are not
  /// tried: the thumbnail codec needs about this much to beat a smaller thumbnail upsampled,
  /// and the largest sizes cost the most time to try.
  public var minThumbnailBitsPerPixel = 0.12
  /// After the search, the best size grown by these fractions is tried at the best quality, the
  /// larger first: quality steps are about 6% of the file apart, so the best file leaves about
  /// 3% of the budget on average, which a slightly larger thumbnail can use.
  public var fillSteps = [0.03, 0.015]
  /// Every `coarseStride`-th size (from the largest down) is tried first; the sizes around the
  /// best of those are tried next.
  public var coarseStride = 3
  /// The coarse scan stops after two sizes in a row score more than this many dB below the best.
  public var plateauMargin = 0.15
  /// A size whose first fitting trial lands within about two quality steps of the budget and
  /// scores more than this many dB below the best so far is not refined to its highest
  /// fitting quality: one quality step gains about 0.1 dB, so it cannot win, and the codings
  /// saved are those of the largest sizes.
  public var losingMargin = 0.4

  public init() {}

  public struct Choice: Sendable {
    public var encoded: Container.Encoded
    /// The thumbnail coded, or nil when not even the smallest one fits.
    public var thumbnailSize: (width: Int, height: Int)?
    public var quality: Int?
    /// PSNR of I_ref against the original, in dB.
    public var referencePSNR: Double
    /// How many complete files were coded during the search.
    public var trials: Int
  }

  /// Finish `prefix` with the best thumbnail of `image` that keeps the file within `budgetBytes`,
  /// or nil if even a file without a thumbnail does not fit.
  ///
  /// The reference PSNR rises with the thumbnail size to a broad, slightly jagged plateau (the
  /// qualities are integers) and falls past it; at the budgets MISC is made for, the plateau
  /// lies among the larger sizes. So the search scores every `coarseStride`-th size from the
  /// largest down and stops once two in a row score more than `plateauMargin` below the best,
  /// then climbs from the best coarse size one size at a time. For each size it finds the
  /// highest quality that fits, starting from the quality that fitted the nearest size tried.
  public func choose(image: Image, prefix: Container.Prefix, budgetBytes: Int) -> Choice? {
    let bare = prefix.finish(thumbnail: nil, quality: 0)
    guard bare.bytes.count <= budgetBytes else { return nil }
    let grey = Image(width: image.width, height: image.height, fill: (128, 128, 128))
    var search = Search(image: image, prefix: prefix, budgetBytes: budgetBytes)
    var best = Choice(encoded: bare, thumbnailSize: nil, quality: nil, referencePSNR: PSNR.psnr(grey, image), trials: 1)

    let budgetBits = Double(budgetBytes * 8)
    let sides = longSides.filter { side in
      let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: side)
      return side <= min(max(image.width, image.height), prefix.profile.thumbnail.maxSide)
        && (side <= longSides[0] || budgetBits / Double(size.width * size.height) >= minThumbnailBitsPerPixel)
    }
    guard !sides.isEmpty else { return best }
    // Coarse sizes, largest first: the last size, then every `coarseStride`-th below it.
    let coarse = Array(stride(from: sides.count - 1, through: 0, by: -max(1, coarseStride)))

    var scores: [Int: Choice] = [:]
    /// A size's best file; nil when even its coarsest quality overflows the budget.
    func score(_ index: Int) -> Choice? {
      if let known = scores[index] { return known }
      guard let choice = search.best(longSide: sides[index],
                                             toBeat: best.thumbnailSize == nil ? -.infinity : best.referencePSNR - losingMargin) else { return nil }
      scores[index] = choice
      return choice
    }
    var bestIndex: Int? = nil
    var belowPlateau = 0
    for index in coarse {
      // A size that does not fit says nothing of smaller ones; two fitting ones in a row that
      // score clearly below the best so far are past the peak.
      guard let choice = score(index) else { continue }
      if choice.referencePSNR > best.referencePSNR {
        best = choice
        bestIndex = index
      }
      belowPlateau = choice.referencePSNR < best.referencePSNR - plateauMargin ? belowPlateau + 1 : 0
      if belowPlateau == 2 { break }
    }
    if let found = bestIndex {
      // Climb one size at a time from the best coarse size, first towards its better coarse
      // neighbour (a neighbour not scored counts as worse); by unimodality the other side is
      // tried only if that first step fails.
      let stride = max(1, coarseStride)
      let below = scores[found - stride]?.referencePSNR ?? -.infinity
      let above = scores[found + stride]?.referencePSNR ?? -.infinity
      for direction in above >= below ? [1, -1] : [-1, 1] {
        var index = found + direction
        var moved = false
        while index >= 0 && index < sides.count, let choice = score(index), choice.referencePSNR > best.referencePSNR {
          best = choice
          moved = true
          index += direction
        }
        if moved { break }
      }
    }
    if let size = best.thumbnailSize, let quality = best.quality {
      let side = max(size.width, size.height)
      let limit = min(max(image.width, image.height), prefix.profile.thumbnail.maxSide)
      for step in fillSteps {
        let grown = Int((Double(side) * (1 + step)).rounded())
        guard grown > side, grown <= limit else { continue }
        if let choice = search.file(longSide: grown, quality: quality), choice.referencePSNR > best.referencePSNR {
          best = choice
          break
        }
      }
    }
    best.trials = search.trials
    return best
  }

  /// The per-size work of a search: coding trials and the last quality that fitted.
  private struct Search {
    let image: Image
    let prefix: Container.Prefix
    let budgetBytes: Int
    var trials = 1
    /// The sizes fitted so far: thumbnail area, the highest quality that fits, its file bytes,
    /// and the log-size slope per quality step measured there.
    var fitted: [(area: Double, quality: Int, bytes: Int, slope: Double)] = []

    init(image: Image, prefix: Container.Prefix, budgetBytes: Int) {
      self.image = image
      self.prefix = prefix
      self.budgetBytes = budgetBytes
    }

    /// The best file for thumbnails of this long side, or nil if none fits. When a fitting
    /// trial near the budget scores below `toBeat`, the search stops there: the size loses (its
    /// score is then that trial's, a little below its best).
    mutating func best(longSide: Int, toBeat: Double = -.infinity) -> Choice? {
      let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: longSide)
      let small = Resample.area(image, width: size.width, height: size.height)
      let thumbnail = ThumbnailCodec.analyse(rgb: small.pixels, width: size.width, height: size.height, profile: prefix.profile)
      let guess = start(size)
      let image = self.image
      // The encoder's reconstruction is the decoder's output bit for bit, so no decode is needed.
      func score(_ levels: ThumbnailCodec.Levels) -> Double {
        let decoded = Image(width: size.width, height: size.height, pixels: levels.reconstruction())
        return PSNR.psnr(MISCDecoder.reference(thumbnail: decoded, width: image.width, height: image.height), image)
      }
      guard let (quality, encoded, levels, slope, scored) = highestFitting(thumbnail, start: guess.quality, slope: guess.slope,
                                                                         toBeat: toBeat, score: score) else {
        return nil
      }
      fitted.append((Double(size.width * size.height), quality, encoded.bytes.count, slope))
      let psnr = scored ?? score(levels)
      return Choice(encoded: encoded, thumbnailSize: size, quality: quality, referencePSNR: psnr, trials: trials)
    }

    /// The file with a thumbnail of this long side at this quality, or nil if it does not fit.
    mutating func file(longSide: Int, quality: Int) -> Choice? {
      let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: longSide)
      let small = Resample.area(image, width: size.width, height: size.height)
      let thumbnail = ThumbnailCodec.analyse(rgb: small.pixels, width: size.width, height: size.height, profile: prefix.profile)
      let (encoded, levels) = prefix.finishWithLevels(analysed: thumbnail, quality: quality)
      trials += 1
      guard encoded.bytes.count <= budgetBytes, let levels else { return nil }
      let decoded = Image(width: size.width, height: size.height, pixels: levels.reconstruction())
      let psnr = PSNR.psnr(MISCDecoder.reference(thumbnail: decoded, width: image.width, height: image.height), image)
      return Choice(encoded: encoded, thumbnailSize: size, quality: quality, referencePSNR: psnr, trials: trials)
    }

    /// The first quality to try for thumbnails of this long side, and the log-size slope to aim
    /// with: from the nearest size fitted so far, moved by the change in area. The file bytes at
    /// one quality grow about as area^`areaExponent`, and ln(bytes) by the nearest size's
    /// measured slope per quality step, so the guess usually fits with the next quality up not
    /// fitting: two codings a size.
    private func start(_ size: (width: Int, height: Int)) -> (quality: Int, slope: Double) {
      let area = Double(size.width * size.height)
      guard let nearest = fitted.min(by: { abs(log($0.area / area)) < abs(log($1.area / area)) }) else {
        return (ThumbnailCodec.qualityLevels / 2, Self.typicalLogSlope)
      }
      let predicted = log(Double(max(nearest.bytes, 1))) + Self.areaExponent * log(area / nearest.area)
      let aim = Double(nearest.quality) + (log(Double(budgetBytes)) - predicted) / nearest.slope
      return (Int(aim.rounded(.down)), nearest.slope)
    }

    /// The highest quality whose file fits. File size grows about geometrically with quality, so
    /// each trial aims at the budget along the log-size slope of the trials so far (a secant
    /// search), then the bracket [fits, does not fit] closes to adjacent qualities: about 2.7
    /// codings a size on Kodak.
    private mutating func highestFitting(_ thumbnail: ThumbnailCodec.Analysis, start: Int, slope startSlope: Double,
                                         toBeat: Double, score: (ThumbnailCodec.Levels) -> Double)
      -> (Int, Container.Encoded, ThumbnailCodec.Levels, Double, Double?)? {
      let top = ThumbnailCodec.qualityLevels - 1
      var cache: [Int: (encoded: Container.Encoded, levels: ThumbnailCodec.Levels?)] = [:]
      func bytes(_ quality: Int) -> Int {
        if let known = cache[quality] { return known.encoded.bytes.count }
        let result = prefix.finishWithLevels(analysed: thumbnail, quality: quality)
        cache[quality] = result
        trials += 1
        return result.encoded.bytes.count
      }
      var low = -1  // the highest quality known to fit (or -1)
      var high = top + 1  // the lowest quality known not to fit (or top + 1)
      var quality = min(max(start, 0), top)
      var previous: (quality: Int, bytes: Int)? = nil
      var measured = startSlope
      var scored: (quality: Int, psnr: Double)? = nil
      while true {
        let size = bytes(quality)
        if size <= budgetBytes { low = quality } else { high = quality }
        if high - low <= 1 { break }
        // ln(bytes) per quality step: measured from the last two trials, else a typical value.
        if let p = previous, p.quality != quality, p.bytes > 0, size > 0 {
          measured = min(max(log(Double(size) / Double(p.bytes)) / Double(quality - p.quality), 0.01), 1)
        }
        previous = (quality, size)
        let aim = Double(quality) + log(Double(budgetBytes) / Double(max(size, 1))) / measured
        if low == quality, toBeat > -.infinity, aim < Double(quality + 2), let levels = cache[quality]?.levels {
          scored = (quality, score(levels))
          if scored!.psnr < toBeat { break }
        }
        quality = min(max(Int(aim.rounded(.down)), low + 1), high - 1)
      }
      guard low >= 0, let found = cache[low], let levels = found.levels else { return nil }
      // For the next size: the slope over the widest span of qualities coded (one step alone is
      // noisy), else the one the search aimed with.
      if let first = cache.keys.min(), let last = cache.keys.max(), last - first >= 2 {
        let (a, b) = (cache[first]!.encoded.bytes.count, cache[last]!.encoded.bytes.count)
        if a > 0, b > 0 { measured = min(max(log(Double(b) / Double(a)) / Double(last - first), 0.01), 1) }
      }
      return (low, found.encoded, levels, measured, scored.flatMap { $0.quality == low ? $0.psnr : nil })
    }

    /// A typical growth of ln(file bytes) per quality index, for the first step of the search.
    static let typicalLogSlope = 0.06
    /// How file bytes at one quality grow with the thumbnail's area (bytes ∝ area^this): below 1,
    /// since a smaller thumbnail packs more detail into each pixel.
    static let areaExponent = 0.8
  }
}
