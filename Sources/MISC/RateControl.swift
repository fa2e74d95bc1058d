import MISCCoding
import MISCImage
import MISCMetrics

/// Chooses the thumbnail's size and quality for a whole-file byte budget, maximising the PSNR
/// of I_ref (the bicubic upsample) against the original at full resolution. The file it
/// returns never exceeds the budget.
public struct RateControl: Sendable {
  /// The thumbnail long sides a search may pick, smallest first.
  public var longSides: [Int] = [4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 36, 40, 44, 48, 52, 56,
                                 64, 72, 80, 88, 96, 112, 128, 144, 160, 192, 224, 256]
  /// Every `coarseStride`-th size is tried first; the sizes around the best of those are tried next.
  public var coarseStride = 3

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
  /// The reference PSNR is close to unimodal in the thumbnail size, so the search scores a coarse
  /// subset of `longSides`, then the sizes between the best one's coarse neighbours. For each
  /// size it finds the highest quality that fits, starting from the quality that fitted the
  /// nearest size already tried.
  public func choose(image: Image, prefix: Container.Prefix, budgetBytes: Int) -> Choice? {
    let bare = prefix.finish(thumbnail: nil, quality: 0)
    guard bare.bytes.count <= budgetBytes else { return nil }
    let grey = Image(width: image.width, height: image.height, fill: (128, 128, 128))
    var search = Search(image: image, prefix: prefix, budgetBytes: budgetBytes)
    var best = Choice(encoded: bare, thumbnailSize: nil, quality: nil, referencePSNR: PSNR.psnr(grey, image), trials: 1)

    let sides = longSides.filter { $0 <= min(max(image.width, image.height), ThumbnailCodec.maxSide) }
    guard !sides.isEmpty else { return best }
    var coarse = Array(stride(from: 0, to: sides.count, by: max(1, coarseStride)))
    if coarse.last != sides.count - 1 { coarse.append(sides.count - 1) }

    var scores: [Int: Choice] = [:]
    func score(_ index: Int) -> Choice? {
      if let known = scores[index] { return known }
      guard let choice = search.best(longSide: sides[index]) else { return nil }
      scores[index] = choice
      return choice
    }
    var bestIndex: Int? = nil
    for (position, index) in coarse.enumerated() {
      guard let choice = score(index) else { break }  // even the coarsest quality overflows from here on
      if choice.referencePSNR > best.referencePSNR {
        best = choice
        bestIndex = position
      }
    }
    if let position = bestIndex {
      let low = position > 0 ? coarse[position - 1] + 1 : 0
      let high = position + 1 < coarse.count ? coarse[position + 1] - 1 : sides.count - 1
      for index in low...max(low, high) where index < sides.count {
        if let choice = score(index), choice.referencePSNR > best.referencePSNR { best = choice }
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
    /// Fitting qualities found so far, by long side.
    var fitted: [Int: Int] = [:]

    init(image: Image, prefix: Container.Prefix, budgetBytes: Int) {
      self.image = image
      self.prefix = prefix
      self.budgetBytes = budgetBytes
    }

    /// The best file for thumbnails of this long side, or nil if none fits.
    mutating func best(longSide: Int) -> Choice? {
      let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: longSide)
      let small = Resample.area(image, width: size.width, height: size.height)
      let thumbnail = Container.Thumbnail(width: size.width, height: size.height, rgb: small.pixels)
      guard let (quality, encoded) = highestFitting(thumbnail, start: startQuality(longSide)) else { return nil }
      fitted[longSide] = quality
      guard let decoded = try? Container.decode(encoded.bytes) else { return nil }
      let psnr = PSNR.psnr(MISCDecoder.reference(decoded.contents), image)
      return Choice(encoded: encoded, thumbnailSize: size, quality: quality, referencePSNR: psnr, trials: trials)
    }

    /// The fitted quality of the nearest size tried; bytes grow with size and with quality.
    private func startQuality(_ longSide: Int) -> Int {
      guard let nearest = fitted.keys.min(by: { abs($0 - longSide) < abs($1 - longSide) }) else {
        return ThumbnailCodec.qualityLevels / 2
      }
      return fitted[nearest]!
    }

    /// The highest quality whose file fits: gallop from `start` in the direction that the first
    /// trial indicates, then bisect the bracket.
    private mutating func highestFitting(_ thumbnail: Container.Thumbnail, start: Int) -> (Int, Container.Encoded)? {
      let top = ThumbnailCodec.qualityLevels - 1
      var cache: [Int: Container.Encoded] = [:]
      func fits(_ quality: Int) -> Bool {
        if cache[quality] == nil {
          cache[quality] = prefix.finish(thumbnail: thumbnail, quality: quality)
          trials += 1
        }
        return cache[quality]!.bytes.count <= budgetBytes
      }
      var low: Int  // fits (or -1)
      var high: Int  // does not fit (or top + 1)
      var step = 1
      if fits(start) {
        low = start
        high = top + 1
        while low < top {
          let next = min(top, low + step)
          if fits(next) { low = next; step *= 2 } else { high = next; break }
        }
      } else {
        high = start
        low = -1
        while high > 0 {
          let next = max(0, high - step)
          if fits(next) { low = next; break } else { high = next; step *= 2 }
        }
      }
      if low < 0 { return nil }
      while high - low > 1 {
        let middle = (low + high) / 2
        if fits(middle) { low = middle } else { high = middle }
      }
      return (low, cache[low]!)
    }
  }
}
