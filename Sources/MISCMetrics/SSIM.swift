import MISCImage

/// SSIM and MS-SSIM as `pytorch_msssim` computes them on RGB in [0, 1] with data range 1: an 11-tap
/// Gaussian window (sigma 1.5), valid separable filtering per channel, K1 = 0.01, K2 = 0.03.
public enum SSIM {
  public static let windowSize = 11
  public static let windowSigma = 1.5
  static let c1 = 0.01 * 0.01
  static let c2 = 0.03 * 0.03
  /// MS-SSIM's weights of scales 1 to 5 (Wang, Simoncelli and Bovik, 2003).
  public static let scaleWeights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
  /// MS-SSIM's smallest side: it must exceed (window - 1) · 2⁴ = 160 to survive four halvings.
  public static let multiScaleMinimumSide = (windowSize - 1) * 16 + 1

  /// The normalised 1-D window, computed in Float like `pytorch_msssim` (its values to the last bit).
  static let window: [Double] = {
    let half = Float(windowSize / 2)
    var g = (0..<windowSize).map { i -> Float in
      let c = Float(i) - half
      return expf(-(c * c) / Float(2 * windowSigma * windowSigma))
    }
    // torch's vectorised sum of these eleven Floats equals their exact sum rounded once; a plain
    // Float loop is one ulp off, which moves SSIM by 1e-5 where variances are small.
    let sum = Float(g.reduce(0.0) { $0 + Double($1) })
    for i in g.indices { g[i] /= sum }
    return g.map(Double.init)
  }()

  /// One channel as a dense plane of samples in [0, 1].
  struct Plane {
    var width: Int
    var height: Int
    /// [height, width]
    var samples: [Double]
  }

  /// Mean SSIM over the three channels (`ssim(X, Y, data_range=1, size_average=True)`).
  public static func ssim(_ a: Image, _ b: Image) -> Double {
    precondition(a.width == b.width && a.height == b.height, "SSIM needs images of the same size")
    var total = 0.0
    for channel in 0..<3 {
      total += indices(plane(a, channel), plane(b, channel)).ssim
    }
    return total / 3
  }

  /// MS-SSIM over five scales (`ms_ssim(X, Y, data_range=1)`); both sides must exceed 160 pixels.
  public static func multiScale(_ a: Image, _ b: Image) -> Double {
    precondition(a.width == b.width && a.height == b.height, "MS-SSIM needs images of the same size")
    precondition(min(a.width, a.height) >= multiScaleMinimumSide, "MS-SSIM needs sides of at least \(multiScaleMinimumSide)")
    var total = 0.0
    for channel in 0..<3 {
      total += multiScaleLevels(plane(a, channel), plane(b, channel)).score
    }
    return total / 3
  }

  /// The (SSIM, contrast-structure) pair of every scale of one channel, and their weighted product.
  static func multiScaleLevels(_ a: Plane, _ b: Plane) -> (levels: [(ssim: Double, cs: Double)], score: Double) {
    var x = a, y = b
    var levels: [(ssim: Double, cs: Double)] = []
    var score = 1.0
    for (level, weight) in scaleWeights.enumerated() {
      let pair = indices(x, y)
      levels.append(pair)
      if level < scaleWeights.count - 1 {
        score *= pow(max(pair.cs, 0), weight)
        x = halve(x)
        y = halve(y)
      } else {
        score *= pow(max(pair.ssim, 0), weight)
      }
    }
    return (levels, score)
  }

  /// Sample k as the Float k / 255 that torchvision's `to_tensor` gives: on flat areas the
  /// variances are small enough for that rounding to move SSIM by 1e-5.
  static let unitSamples: [Double] = (0..<256).map { Double(Float($0) / 255) }

  static func plane(_ image: Image, _ channel: Int) -> Plane {
    var samples = [Double](repeating: 0, count: image.pixelCount)
    let unit = unitSamples
    image.pixels.withUnsafeBufferPointer { p in
      for i in 0..<image.pixelCount { samples[i] = unit[Int(p[i * 3 + channel])] }
    }
    return Plane(width: image.width, height: image.height, samples: samples)
  }

  /// 2×2 average pooling; an odd side is zero-padded by one on both ends, the pads counted in the mean.
  static func halve(_ p: Plane) -> Plane {
    let padX = p.width % 2, padY = p.height % 2
    let w = (p.width + 2 * padX - 2) / 2 + 1, h = (p.height + 2 * padY - 2) / 2 + 1
    var out = [Double](repeating: 0, count: w * h)
    p.samples.withUnsafeBufferPointer { s in
      for oy in 0..<h {
        for ox in 0..<w {
          var sum = 0.0
          for dy in 0..<2 {
            let y = 2 * oy - padY + dy
            guard y >= 0, y < p.height else { continue }
            for dx in 0..<2 {
              let x = 2 * ox - padX + dx
              guard x >= 0, x < p.width else { continue }
              sum += s[y * p.width + x]
            }
          }
          out[oy * w + ox] = sum / 4
        }
      }
    }
    return Plane(width: w, height: h, samples: out)
  }

  /// Mean SSIM and mean contrast-structure of one channel pair over the valid filtered area.
  static func indices(_ a: Plane, _ b: Plane) -> (ssim: Double, cs: Double) {
    let n = windowSize, w = a.width, h = a.height
    precondition(w >= n && h >= n, "SSIM needs sides of at least \(n)")
    let oh = h - n + 1, ow = w - n + 1
    // Vertical pass of x, y, x², y², xy: [oh, w] each, interleaved by five.
    var vertical = [Double](repeating: 0, count: oh * w * 5)
    let g = window
    a.samples.withUnsafeBufferPointer { xs in
      b.samples.withUnsafeBufferPointer { ys in
        vertical.withUnsafeMutableBufferPointer { v in
          for oy in 0..<oh {
            for x in 0..<w {
              var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0
              for k in 0..<n {
                let i = (oy + k) * w + x
                let xv = xs[i], yv = ys[i], gk = g[k]
                s0 += gk * xv
                s1 += gk * yv
                s2 += gk * xv * xv
                s3 += gk * yv * yv
                s4 += gk * xv * yv
              }
              let o = (oy * w + x) * 5
              v[o] = s0; v[o + 1] = s1; v[o + 2] = s2; v[o + 3] = s3; v[o + 4] = s4
            }
          }
        }
      }
    }
    var ssimSum = 0.0, csSum = 0.0
    vertical.withUnsafeBufferPointer { v in
      for oy in 0..<oh {
        for ox in 0..<ow {
          var mx = 0.0, my = 0.0, xx = 0.0, yy = 0.0, xy = 0.0
          for k in 0..<n {
            let o = (oy * w + ox + k) * 5, gk = g[k]
            mx += gk * v[o]
            my += gk * v[o + 1]
            xx += gk * v[o + 2]
            yy += gk * v[o + 3]
            xy += gk * v[o + 4]
          }
          let sx = xx - mx * mx, sy = yy - my * my, sxy = xy - mx * my
          let cs = (2 * sxy + c2) / (sx + sy + c2)
          csSum += cs
          ssimSum += (2 * mx * my + c1) / (mx * mx + my * my + c1) * cs
        }
      }
    }
    let count = Double(oh * ow)
    return (ssimSum / count, csSum / count)
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
