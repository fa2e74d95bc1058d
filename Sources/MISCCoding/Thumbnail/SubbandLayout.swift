/// Where each detail subband of a Mallat-layout wavelet plane lies, coarsest first, and which
/// coarser band holds each one's parent (the same orientation one level up).
struct SubbandLayout: Sendable {
  struct Band: Sendable {
    var x0: Int, y0: Int, width: Int, height: Int
    /// 0 is the finest level.
    var level: Int
    /// 0 = HL (horizontal detail), 1 = LH, 2 = HH.
    var orientation: Int
    /// Index in `bands` of the parent band, or -1.
    var parent: Int
  }

  let width: Int
  let height: Int
  let levels: Int
  /// The low-pass band's size (it sits at the origin).
  let lowWidth: Int
  let lowHeight: Int
  /// Detail bands, coarsest level first; empty bands are left out.
  let bands: [Band]

  init(width: Int, height: Int, levels: Int) {
    self.width = width
    self.height = height
    self.levels = levels
    let sizes = Wavelet97.regionSizes(width: width, height: height, levels: levels)
    lowWidth = sizes[levels].width
    lowHeight = sizes[levels].height
    var bands: [Band] = []
    var previous = [-1, -1, -1]
    for level in stride(from: levels - 1, through: 0, by: -1) {
      let (w, h) = sizes[level]
      let (lw, lh) = sizes[level + 1]
      let candidates = [
        Band(x0: lw, y0: 0, width: w - lw, height: lh, level: level, orientation: 0, parent: previous[0]),
        Band(x0: 0, y0: lh, width: lw, height: h - lh, level: level, orientation: 1, parent: previous[1]),
        Band(x0: lw, y0: lh, width: w - lw, height: h - lh, level: level, orientation: 2, parent: previous[2]),
      ]
      for band in candidates where band.width > 0 && band.height > 0 {
        previous[band.orientation] = bands.count
        bands.append(band)
      }
    }
    self.bands = bands
  }

  /// The default number of wavelet levels: split until the low band is about 2 samples a side.
  static func defaultLevels(width: Int, height: Int) -> Int {
    var side = max(width, height)
    var levels = 0
    while side > 2 && levels < 7 {
      side = (side + 1) / 2
      levels += 1
    }
    return levels
  }
}
