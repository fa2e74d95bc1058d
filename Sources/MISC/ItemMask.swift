import MISCCoding
import MISCImage

/// A binary map brought to image size as an 8-bit blend weight, and the blend itself (eq. 7).
public enum ItemMask {
  /// The map upsampled by blocks to `width`x`height` (255 inside, 0 outside), its edges
  /// softened by a box blur of `featherRadius` pixels. Integer-only, hence reproducible.
  public static func render(_ map: BinaryMap, width: Int, height: Int, featherRadius: Int) -> [UInt8] {
    var mask = [Int](repeating: 0, count: width * height)
    for y in 0..<height {
      let cy = y * map.height / height
      for x in 0..<width where map[x * map.width / width, cy] {
        mask[y * width + x] = 255
      }
    }
    if featherRadius > 0 {
      mask = boxBlur(mask, width: width, height: height, radius: featherRadius)
    }
    return mask.map { UInt8($0) }
  }

  /// `foreground` where the mask is 255, `background` where it is 0, mixed in between.
  public static func blend(_ foreground: Image, over background: Image, mask: [UInt8]) -> Image {
    precondition(foreground.width == background.width && foreground.height == background.height)
    precondition(mask.count == foreground.pixelCount)
    var out = background
    for i in 0..<mask.count {
      let m = Int(mask[i])
      if m == 0 { continue }
      for c in 0..<3 {
        let f = Int(foreground.pixels[i * 3 + c])
        let b = Int(background.pixels[i * 3 + c])
        out.pixels[i * 3 + c] = UInt8((f * m + b * (255 - m) + 127) / 255)
      }
    }
    return out
  }

  /// Separable box blur with edge clamping; each output is the rounded mean of its window.
  static func boxBlur(_ input: [Int], width: Int, height: Int, radius: Int) -> [Int] {
    func pass(_ src: [Int], count: Int, lines: Int, index: (Int, Int) -> Int) -> [Int] {
      var dst = src
      let window = 2 * radius + 1
      for line in 0..<lines {
        var sum = 0
        for k in -radius...radius { sum += src[index(line, min(max(k, 0), count - 1))] }
        for i in 0..<count {
          dst[index(line, i)] = (sum + window / 2) / window
          sum += src[index(line, min(i + radius + 1, count - 1))] - src[index(line, max(i - radius, 0))]
        }
      }
      return dst
    }
    let horizontal = pass(input, count: width, lines: height) { line, i in line * width + i }
    return pass(horizontal, count: height, lines: width) { line, i in i * width + line }
  }
}
