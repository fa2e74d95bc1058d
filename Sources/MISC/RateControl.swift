import MISCCoding
import MISCImage
import MISCMetrics

/// Chooses the thumbnail's size and quality for a whole-file byte budget, maximising the PSNR
/// of I_ref (the bicubic upsample) against the original at full resolution. The file it
/// returns never exceeds the budget.
public struct RateControl: Sendable {
  /// The thumbnail long sides tried, smallest first.
  public var longSides: [Int] = [4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 36, 40, 44, 48, 52, 56,
                                 64, 72, 80, 88, 96, 112, 128, 144, 160, 192, 224, 256]
  /// Stop after this many sizes in a row score below the best so far.
  public var patience = 3

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
  public func choose(image: Image, prefix: Container.Prefix, budgetBytes: Int) -> Choice? {
    var trials = 1
    let bare = prefix.finish(thumbnail: nil, quality: 0)
    guard bare.bytes.count <= budgetBytes else { return nil }
    let grey = Image(width: image.width, height: image.height, fill: (128, 128, 128))
    var best = Choice(encoded: bare, thumbnailSize: nil, quality: nil, referencePSNR: PSNR.psnr(grey, image), trials: trials)

    var worse = 0
    let longest = max(image.width, image.height)
    for longSide in longSides where longSide <= min(longest, ThumbnailCodec.maxSide) {
      let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: longSide)
      let small = Resample.area(image, width: size.width, height: size.height)
      let thumbnail = Container.Thumbnail(width: size.width, height: size.height, rgb: small.pixels)

      // The highest quality that fits (sizes grow with quality, so bisect).
      var fitting: (quality: Int, encoded: Container.Encoded)? = nil
      var low = 0
      var high = ThumbnailCodec.qualityLevels - 1
      while low <= high {
        let quality = (low + high) / 2
        let encoded = prefix.finish(thumbnail: thumbnail, quality: quality)
        trials += 1
        if encoded.bytes.count <= budgetBytes {
          fitting = (quality, encoded)
          low = quality + 1
        } else {
          high = quality - 1
        }
      }
      guard let fitting else { break }  // even the coarsest quality overflows; larger sizes will too

      let decoded = (try? Container.decode(fitting.encoded.bytes))?.contents
      guard let coded = decoded.map(MISCDecoder.reference) else { continue }
      let psnr = PSNR.psnr(coded, image)
      if psnr > best.referencePSNR {
        best = Choice(encoded: fitting.encoded, thumbnailSize: size, quality: fitting.quality, referencePSNR: psnr, trials: trials)
        worse = 0
      } else {
        worse += 1
        if worse >= patience { break }
      }
    }
    best.trials = trials
    return best
  }
}
