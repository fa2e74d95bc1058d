import Testing
@testable import MISCCoding

/// The wavelet lifts whole rows at a time; it must give every sample exactly what the
/// one-line-at-a-time lifting (the implementation that wrote every existing file) gives it: the
/// decoder's output depends on it.
@Suite struct Wavelet97Tests {
  /// The line-at-a-time transform, as versions 2 to 4 were first written.
  enum Reference {
    typealias W = Wavelet97

    static func lift(_ x: inout [Int], _ n: Int, parity: Int, _ c: Int, sign: Int) {
      var i = parity
      while i < n {
        let left = i == 0 ? 1 : i - 1
        let right = i + 1 < n ? i + 1 : n - 2
        x[i] += sign * ((c * (x[left] + x[right]) + W.half) >> W.fractionBits)
        i += 2
      }
    }

    static func forward1D(_ x: inout [Int], _ out: inout [Int], _ n: Int) {
      lift(&x, n, parity: 1, W.alpha, sign: 1)
      lift(&x, n, parity: 0, W.beta, sign: 1)
      lift(&x, n, parity: 1, W.gamma, sign: 1)
      lift(&x, n, parity: 0, W.delta, sign: 1)
      let low = W.lowCount(n)
      for i in 0..<n {
        if i & 1 == 0 {
          out[i >> 1] = (x[i] * W.lowScale + W.half) >> W.fractionBits
        } else {
          out[low + (i >> 1)] = (x[i] * W.highScale + W.half) >> W.fractionBits
        }
      }
    }

    static func inverse1D(_ x: inout [Int], _ out: inout [Int], _ n: Int) {
      let low = W.lowCount(n)
      for i in 0..<n {
        if i & 1 == 0 {
          out[i] = (x[i >> 1] * W.inverseLowScale + W.half) >> W.fractionBits
        } else {
          out[i] = (x[low + (i >> 1)] * W.inverseHighScale + W.half) >> W.fractionBits
        }
      }
      lift(&out, n, parity: 0, W.delta, sign: -1)
      lift(&out, n, parity: 1, W.gamma, sign: -1)
      lift(&out, n, parity: 0, W.beta, sign: -1)
      lift(&out, n, parity: 1, W.alpha, sign: -1)
    }

    static func forward(_ data: inout [Int], width: Int, height: Int, levels: Int) {
      var line = [Int](repeating: 0, count: max(width, height))
      var out = line
      let sizes = Wavelet97.regionSizes(width: width, height: height, levels: levels)
      for level in 0..<levels {
        let (w, h) = sizes[level]
        if w > 1 {
          for y in 0..<h {
            for x in 0..<w { line[x] = data[y * width + x] }
            forward1D(&line, &out, w)
            for x in 0..<w { data[y * width + x] = out[x] }
          }
        }
        if h > 1 {
          for x in 0..<w {
            for y in 0..<h { line[y] = data[y * width + x] }
            forward1D(&line, &out, h)
            for y in 0..<h { data[y * width + x] = out[y] }
          }
        }
      }
    }

    static func inverse(_ data: inout [Int], width: Int, height: Int, levels: Int) {
      var line = [Int](repeating: 0, count: max(width, height))
      var out = line
      let sizes = Wavelet97.regionSizes(width: width, height: height, levels: levels)
      for level in stride(from: levels - 1, through: 0, by: -1) {
        let (w, h) = sizes[level]
        if h > 1 {
          for x in 0..<w {
            for y in 0..<h { line[y] = data[y * width + x] }
            inverse1D(&line, &out, h)
            for y in 0..<h { data[y * width + x] = out[y] }
          }
        }
        if w > 1 {
          for y in 0..<h {
            for x in 0..<w { line[x] = data[y * width + x] }
            inverse1D(&line, &out, w)
            for x in 0..<w { data[y * width + x] = out[x] }
          }
        }
        for i in 0..<(width * height) where i % width < w && i / width < h {
          data[i] = min(max(data[i], -Wavelet97.clampLimit), Wavelet97.clampLimit)
        }
      }
    }
  }

  static let sizes = [(1, 1), (1, 7), (7, 1), (2, 2), (2, 3), (3, 2), (5, 9), (9, 5), (17, 9), (31, 64), (64, 43), (100, 3), (257, 129)]

  @Test func forwardMatchesTheColumnAtATimeTransform() {
    var rng = SplitMix64(seed: 11)
    for (width, height) in Self.sizes {
      let levels = SubbandLayout.defaultLevels(width: width, height: height)
      for levelCount in Set([0, 1, levels, levels + 1]) {
        let original = (0..<(width * height)).map { _ in Int.random(in: -4080...4080, using: &rng) }
        var fast = original, slow = original
        Wavelet97.forward(&fast, width: width, height: height, levels: levelCount)
        Reference.forward(&slow, width: width, height: height, levels: levelCount)
        #expect(fast == slow, "\(width)x\(height), \(levelCount) levels")
      }
    }
  }

  /// Any coefficients, hostile ones included (up to the clamp limit), invert as before.
  @Test func inverseMatchesTheColumnAtATimeTransform() {
    var rng = SplitMix64(seed: 12)
    for (width, height) in Self.sizes {
      let levels = SubbandLayout.defaultLevels(width: width, height: height)
      for levelCount in Set([0, 1, levels, levels + 1]) {
        for range in [-5000...5000, -Wavelet97.clampLimit...Wavelet97.clampLimit] {
          let original = (0..<(width * height)).map { _ in Int.random(in: range, using: &rng) }
          var fast = original, slow = original
          Wavelet97.inverse(&fast, width: width, height: height, levels: levelCount)
          Reference.inverse(&slow, width: width, height: height, levels: levelCount)
          #expect(fast == slow, "\(width)x\(height), \(levelCount) levels, \(range)")
        }
      }
    }
  }
}
