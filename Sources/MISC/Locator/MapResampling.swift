import Foundation

/// The resamplings between CLIP Surgery's patch grid and a map grid, matching the authors' tools.
enum MapResampling {
  /// PyTorch's `F.interpolate(mode="bilinear", align_corners=False)` in Float32: source coordinate
  /// `(o + 0.5) * in/out - 0.5`, clamped at 0, edge samples repeated.
  /// [height, width] -> [toHeight, toWidth]
  static func bilinear(_ values: [Float], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [Float] {
    precondition(values.count == width * height && toWidth > 0 && toHeight > 0, "bilinear resize of \(width)x\(height) to \(toWidth)x\(toHeight)")
    func taps(_ input: Int, _ output: Int) -> [(index: Int, next: Int, weight: Float)] {
      let scale = Float(input) / Float(output)
      return (0..<output).map { o in
        let source = max(scale * (Float(o) + 0.5) - 0.5, 0)
        let index = min(Int(source), input - 1)
        return (index, index < input - 1 ? index + 1 : index, source - Float(index))
      }
    }
    let xs = taps(width, toWidth), ys = taps(height, toHeight)
    var out = [Float](repeating: 0, count: toWidth * toHeight)
    for (oy, y) in ys.enumerated() {
      let row0 = y.index * width, row1 = y.next * width
      for (ox, x) in xs.enumerated() {
        let top = (1 - x.weight) * values[row0 + x.index] + x.weight * values[row0 + x.next]
        let bottom = (1 - x.weight) * values[row1 + x.index] + x.weight * values[row1 + x.next]
        out[oy * toWidth + ox] = (1 - y.weight) * top + y.weight * bottom
      }
    }
    return out
  }

  /// scikit-image's `resize(image, (toHeight, toWidth), anti_aliasing=True)` (order 1, mode "reflect"),
  /// in Float64 as it computes:
  /// 1. per axis, a Gaussian blur of σ = max(0, (in/out − 1) / 2) (`scipy.ndimage.gaussian_filter`,
  ///    truncate 4, radius ⌊4σ + 0.5⌋, mirror boundary `d c b | a b c d | c b a`), rows then columns;
  /// 2. linear interpolation at source coordinate `(o + 0.5) * in/out − 0.5` (`ndimage.zoom`,
  ///    `grid_mode=True`, mirror boundary).
  /// Only the samples the interpolation reads are filtered, so a full-size map costs little.
  /// [height, width] -> [toHeight, toWidth]
  static func antialiasedResize(_ image: [Double], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [Double] {
    precondition(image.count == width * height && toWidth > 0 && toHeight > 0, "resize of \(width)x\(height) to \(toWidth)x\(toHeight)")
    let ys = interpolationTaps(input: height, output: toHeight)
    let xs = interpolationTaps(input: width, output: toWidth)
    let rowKernel = gaussianKernel(sigma: max(0, (Double(height) / Double(toHeight) - 1) / 2))
    let columnKernel = gaussianKernel(sigma: max(0, (Double(width) / Double(toWidth) - 1) / 2))
    let neededRows = Array(Set(ys.flatMap { [$0.index, $0.next] })).sorted()
    let neededColumns = Array(Set(xs.flatMap { [$0.index, $0.next] })).sorted()
    // Axis 0 (rows) first, on the needed rows, every column.
    var rowFiltered: [Int: [Double]] = [:]
    for r in neededRows {
      var line = [Double](repeating: 0, count: width)
      for (offset, w) in rowKernel.weights.enumerated() {
        let source = mirror(r + offset - rowKernel.radius, height) * width
        for x in 0..<width { line[x] += w * image[source + x] }
      }
      rowFiltered[r] = line
    }
    // Axis 1 (columns) on the needed samples only.
    var filtered: [Int: Double] = [:]
    for r in neededRows {
      let line = rowFiltered[r]!
      for c in neededColumns {
        var sum = 0.0
        for (offset, w) in columnKernel.weights.enumerated() { sum += w * line[mirror(c + offset - columnKernel.radius, width)] }
        filtered[r * width + c] = sum
      }
    }
    var out = [Double](repeating: 0, count: toWidth * toHeight)
    for (oy, y) in ys.enumerated() {
      for (ox, x) in xs.enumerated() {
        let top = (1 - x.weight) * filtered[y.index * width + x.index]! + x.weight * filtered[y.index * width + x.next]!
        let bottom = (1 - x.weight) * filtered[y.next * width + x.index]! + x.weight * filtered[y.next * width + x.next]!
        out[oy * toWidth + ox] = (1 - y.weight) * top + y.weight * bottom
      }
    }
    return out
  }

  /// Linear-interpolation taps of `ndimage.zoom(grid_mode=True, mode="mirror")`: the two (mirrored)
  /// source samples of each output and the weight of the second.
  private static func interpolationTaps(input: Int, output: Int) -> [(index: Int, next: Int, weight: Double)] {
    let zoom = Double(input) / Double(output)
    return (0..<output).map { o in
      let coordinate = (Double(o) + 0.5) * zoom - 0.5
      let base = coordinate.rounded(.down)
      let i = Int(base)
      return (mirror(i, input), mirror(i + 1, input), coordinate - base)
    }
  }

  /// `scipy.ndimage`'s normalised Gaussian for `sigma` (truncate 4); the identity for σ ≈ 0.
  private static func gaussianKernel(sigma: Double) -> (radius: Int, weights: [Double]) {
    guard sigma > 1e-15 else { return (0, [1]) }
    let radius = Int(4 * sigma + 0.5)
    let weights = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
    let total = weights.reduce(0, +)
    return (radius, weights.map { $0 / total })
  }

  /// scipy's "mirror" boundary (reflection about the edge samples, which are not repeated), any distance out.
  static func mirror(_ index: Int, _ count: Int) -> Int {
    guard count > 1 else { return 0 }
    let period = 2 * (count - 1)
    var k = index % period
    if k < 0 { k += period }
    return k < count ? k : period - k
  }
}
