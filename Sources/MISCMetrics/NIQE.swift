import MISCImage

/// NIQE (Mittal, Soundararajan and Bovik, 2013) as pyiqa's `niqe` computes it: MATLAB's luma
/// (YIQ's Y, rounded to 8 bits), 96×96 blocks at two scales, 18 MSCN features a block and scale.
public enum NIQE {
  public static let blockSize = 96

  /// A grey plane of Doubles. [height, width]
  struct Plane {
    var width: Int
    var height: Int
    var samples: [Double]
  }

  /// The NIQE score of `image` under `model`: the distance between the pristine Gaussian and the
  /// one fitted to the image's block features (lower is more natural).
  public static func score(_ image: Image, model: NIQEModel) -> Double {
    let features = blockFeatures(luma(image))
    return distance(features, model: model)
  }

  /// Y of YIQ in 8-bit steps, computed in Float the way pyiqa does (`to_y_channel(x, 255, 'yiq')`
  /// on `to_tensor` samples) so that the ties of the rounding fall the same way.
  static func luma(_ image: Image) -> Plane {
    let unit = (0..<256).map { Float($0) / 255 }
    let wr: Float = 0.299, wg: Float = 0.587, wb: Float = 0.114
    var samples = [Double](repeating: 0, count: image.pixelCount)
    image.pixels.withUnsafeBufferPointer { p in
      for i in 0..<image.pixelCount {
        let r = unit[Int(p[3 * i])] * wr
        let g = unit[Int(p[3 * i + 1])] * wg
        let b = unit[Int(p[3 * i + 2])] * wb
        let y = ((r + g) + b) * 255
        samples[i] = Double(y.rounded(.toNearestOrEven))
      }
    }
    return Plane(width: image.width, height: image.height, samples: samples)
  }

  /// [blocks, 36]: the 18 features of each whole 96×96 block of the top-left crop, then the 18 of
  /// the same block at half scale. Blocks are ordered column by column, as pyiqa's blockproc.
  static func blockFeatures(_ y: Plane) -> [[Double]] {
    let rows = y.height / blockSize, columns = y.width / blockSize
    precondition(rows > 0 && columns > 0, "NIQE needs at least one \(blockSize)x\(blockSize) block")
    var image = crop(y, width: columns * blockSize, height: rows * blockSize)
    var features = [[Double]](repeating: [], count: rows * columns)
    for scale in 1...2 {
      let mscn = normalized(image)
      let size = blockSize / scale
      var block = [Double](repeating: 0, count: size * size)
      for bx in 0..<columns {
        for by in 0..<rows {
          for r in 0..<size {
            let source = (by * size + r) * mscn.width + bx * size
            for c in 0..<size { block[r * size + c] = mscn.samples[source + c] }
          }
          features[bx * rows + by] += blockFeatures(block, size: size)
        }
      }
      if scale == 1 { image = halve(image) }
    }
    return features
  }

  static func crop(_ p: Plane, width: Int, height: Int) -> Plane {
    var samples = [Double](repeating: 0, count: width * height)
    for r in 0..<height {
      for c in 0..<width { samples[r * width + c] = p.samples[r * p.width + c] }
    }
    return Plane(width: width, height: height, samples: samples)
  }

  /// MATLAB's 7×7 Gaussian (sigma 7/6) from `fspecial`, normalised in Double, stored as Float as pyiqa does. [7, 7]
  static let gaussian: [Double] = {
    let sigma = 7.0 / 6
    var h = [Double](repeating: 0, count: 49)
    for y in 0..<7 {
      for x in 0..<7 {
        let dx = Double(x - 3), dy = Double(y - 3)
        h[y * 7 + x] = exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))
      }
    }
    let sum = h.reduce(0, +)
    return h.map { Double(Float($0 / sum)) }
  }()

  /// Mean-subtracted contrast-normalised coefficients: (I - mu) / (sigma + 1), mu and sigma from
  /// the 7×7 Gaussian with replicated borders.
  static func normalized(_ p: Plane) -> Plane {
    let w = p.width, h = p.height, pw = w + 6
    var padded = [Double](repeating: 0, count: pw * (h + 6))
    for r in 0..<(h + 6) {
      let sr = min(max(r - 3, 0), h - 1)
      for c in 0..<pw { padded[r * pw + c] = p.samples[sr * w + min(max(c - 3, 0), w - 1)] }
    }
    let squares = padded.map { $0 * $0 }
    var out = [Double](repeating: 0, count: w * h)
    let epsilon = Double.ulpOfOne
    // One output row at a time, the taps outermost so that the loops along the row vectorise;
    // each pixel still sums its 49 taps in the order (row, column) of the kernel.
    var mu = [Double](repeating: 0, count: w), second = [Double](repeating: 0, count: w)
    gaussian.withUnsafeBufferPointer { k in
      padded.withUnsafeBufferPointer { x in
        squares.withUnsafeBufferPointer { x2 in
          mu.withUnsafeMutableBufferPointer { m in
            second.withUnsafeMutableBufferPointer { s2 in
              for r in 0..<h {
                m.update(repeating: 0)
                s2.update(repeating: 0)
                for a in 0..<7 {
                  for b in 0..<7 {
                    let kab = k[a * 7 + b], row = (r + a) * pw + b
                    for c in 0..<w {
                      m[c] += kab * x[row + c]
                      s2[c] += kab * x2[row + c]
                    }
                  }
                }
                for c in 0..<w {
                  let sigma = (abs(s2[c] - m[c] * m[c]) + epsilon).squareRoot()
                  out[r * w + c] = (p.samples[r * w + c] - m[c]) / (sigma + 1)
                }
              }
            }
          }
        }
      }
    }
    return Plane(width: w, height: h, samples: out)
  }

  /// MATLAB's `imresize(I / 255, 0.5)` (bicubic, antialiased, symmetric borders) times 255, in
  /// Float as pyiqa runs it. At this exact half scale the 8 taps are the same for every output.
  static func halve(_ p: Plane) -> Plane {
    let taps: [Float] = [-0.011_718_75, -0.035_156_25, 0.113_281_25, 0.433_593_75,
                         0.433_593_75, 0.113_281_25, -0.035_156_25, -0.011_718_75]
    func mirror(_ i: Int, _ n: Int) -> Int { i < 0 ? -i - 1 : (i >= n ? 2 * n - 1 - i : i) }
    let w = p.width, h = p.height, oh = h / 2, ow = w / 2
    let source = p.samples.map { Float($0 / 255) }
    // Rows first, then columns, as pyiqa's resize_1d.
    var tall = [Float](repeating: 0, count: oh * w)
    for r in 0..<oh {
      for c in 0..<w {
        var acc: Float = 0
        for t in 0..<8 { acc += source[mirror(2 * r - 3 + t, h) * w + c] * taps[t] }
        tall[r * w + c] = acc
      }
    }
    var out = [Double](repeating: 0, count: oh * ow)
    for r in 0..<oh {
      for c in 0..<ow {
        var acc: Float = 0
        for t in 0..<8 { acc += tall[r * w + mirror(2 * c - 3 + t, w)] * taps[t] }
        out[r * ow + c] = Double(acc) * 255
      }
    }
    return Plane(width: ow, height: oh, samples: out)
  }

  /// The 18 features of one square block of MSCN coefficients: the AGGD fit of the block, then
  /// of its products with the neighbour right, below, below-right and below-left (wrapping round).
  static func blockFeatures(_ block: [Double], size n: Int) -> [Double] {
    let whole = aggd(block)
    var features = [whole.alpha, (whole.left + whole.right) / 2]
    var product = [Double](repeating: 0, count: n * n)
    for (dy, dx) in [(0, 1), (1, 0), (1, 1), (1, -1)] {
      for r in 0..<n {
        let sr = (r - dy + n) % n
        for c in 0..<n { product[r * n + c] = block[r * n + c] * block[sr * n + (c - dx + n) % n] }
      }
      let fit = aggd(product)
      let mean = (fit.right - fit.left) * exp(lgamma(2 / fit.alpha) - lgamma(1 / fit.alpha))
      features += [fit.alpha, mean, fit.left, fit.right]
    }
    return features
  }

  /// The shapes searched by the AGGD fit, 0.2 to 10 in steps of 0.001, and their ratio
  /// Γ(2/a)² / (Γ(1/a) Γ(3/a)).
  static let shapes: [Double] = (0..<9801).map { 0.2 + Double($0) * 0.001 }
  static let shapeRatios: [Double] = shapes.map { exp(2 * lgamma(2 / $0) - (lgamma(1 / $0) + lgamma(3 / $0))) }

  /// The first index of the ratio closest to `target`: a binary search, as the ratios increase
  /// strictly with the shape (a test checks it against the full scan pyiqa does).
  static func closestShape(_ target: Double) -> Int {
    let r = shapeRatios
    var low = 0, high = r.count
    while low < high {
      let mid = (low + high) / 2
      if r[mid] < target { low = mid + 1 } else { high = mid }
    }
    if low == r.count { return r.count - 1 }
    if low == 0 { return 0 }
    return abs(r[low - 1] - target) <= abs(r[low] - target) ? low - 1 : low
  }

  /// Asymmetric generalised Gaussian fit by moment matching: the shape and the left and right scales.
  static func aggd(_ x: [Double]) -> (alpha: Double, left: Double, right: Double) {
    var leftSquares = 0.0, rightSquares = 0.0, leftCount = 0, rightCount = 0, absSum = 0.0, squareSum = 0.0
    for v in x {
      let s = v * v
      if v < 0 { leftSquares += s; leftCount += 1 } else if v > 0 { rightSquares += s; rightCount += 1 }
      absSum += abs(v)
      squareSum += s
    }
    let n = Double(x.count)
    let leftStd = (leftSquares / Double(leftCount)).squareRoot()
    let rightStd = (rightSquares / Double(rightCount)).squareRoot()
    let gamma = leftStd / rightStd
    let meanAbs = absSum / n
    let rhat = meanAbs * meanAbs / (squareSum / n)
    let g2 = gamma * gamma
    let target = rhat * (g2 * gamma + 1) * (gamma + 1) / ((g2 + 1) * (g2 + 1))
    // The first closest shape; torch's argmin takes a NaN for the minimum, so NaN picks shape 0.
    let best = target.isNaN ? 0 : closestShape(target)
    let alpha = shapes[best]
    let factor = exp(lgamma(1 / alpha) - lgamma(3 / alpha)).squareRoot()
    return (alpha, leftStd * factor, rightStd * factor)
  }

  /// sqrt((mu_p - mu)ᵀ pinv((Σ_p + Σ) / 2) (mu_p - mu)), mu and Σ fitted to the block features;
  /// NaN features are left out of the mean (per feature) and their rows out of the covariance.
  static func distance(_ rows: [[Double]], model: NIQEModel) -> Double {
    let d = NIQEModel.featureCount
    var mean = [Double](repeating: 0, count: d)
    for j in 0..<d {
      var sum = 0.0, count = 0
      for row in rows where !row[j].isNaN { sum += row[j]; count += 1 }
      mean[j] = sum / Double(count)
    }
    let clean = rows.filter { !$0.contains(where: \.isNaN) }
    var cleanMean = [Double](repeating: 0, count: d)
    for row in clean { for j in 0..<d { cleanMean[j] += row[j] } }
    for j in 0..<d { cleanMean[j] /= Double(clean.count) }
    // torch.cov: divide by n - 1, or by n for a single observation.
    let divisor = Double(clean.count > 1 ? clean.count - 1 : clean.count)
    var pooled = [Double](repeating: 0, count: d * d)
    for i in 0..<d {
      for j in i..<d {
        var s = 0.0
        for row in clean { s += (row[i] - cleanMean[i]) * (row[j] - cleanMean[j]) }
        let value = ((s / divisor) + model.covariance[i * d + j]) / 2
        pooled[i * d + j] = value
        pooled[j * d + i] = (s / divisor + model.covariance[j * d + i]) / 2
      }
    }
    let diff = (0..<d).map { model.mean[$0] - mean[$0] }
    // pyiqa's pinv refuses a non-finite matrix (a flat image); NaN lets the metric say why.
    guard pooled.allSatisfy(\.isFinite), diff.allSatisfy(\.isFinite) else { return .nan }
    return SymmetricEigen(pooled, size: d).pseudoInverseQuadraticForm(diff).squareRoot()
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
