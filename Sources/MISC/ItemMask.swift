import MISCCoding
import MISCImage

/// A binary map brought to image size as an 8-bit blend weight, and the blend itself (eq. 7).
///
/// Memory: a mask is one byte a pixel; the blur adds a second for its vertical pass, and the
/// blend writes into the background in place, so a decode needs no image-sized `[Int]`.
public enum ItemMask {
  /// The map upsampled by blocks to `width`x`height` (255 inside, 0 outside), its edges
  /// softened by a box blur of `featherRadius` pixels. Integer-only, hence reproducible.
  public static func render(_ map: BinaryMap, width: Int, height: Int, featherRadius: Int) -> [UInt8] {
    var mask = [UInt8](repeating: 0, count: width * height)
    let columns = (0..<width).map { $0 * map.width / width }
    mask.withUnsafeMutableBufferPointer { mask in
      for y in 0..<height {
        let cy = y * map.height / height
        let row = y * width
        for x in 0..<width where map[columns[x], cy] {
          mask[row + x] = 255
        }
      }
    }
    if featherRadius > 0 {
      mask = boxBlur(mask, width: width, height: height, radius: featherRadius)
    }
    return mask
  }

  /// `foreground` where the mask is 255, `background` where it is 0, mixed in between.
  public static func blend(_ foreground: Image, over background: Image, mask: [UInt8]) -> Image {
    var out = background
    blend(foreground, into: &out, mask: mask)
    return out
  }

  /// Blends `foreground` into `background` in place (no copy when `background` is uniquely
  /// referenced). A foreground that is the background itself leaves it as it is.
  public static func blend(_ foreground: Image, into background: inout Image, mask: [UInt8]) {
    precondition(foreground.width == background.width && foreground.height == background.height)
    precondition(mask.count == foreground.pixelCount)
    // (f·m + f·(255 − m) + 127) / 255 = f: blending an image over itself changes nothing.
    let same = foreground.pixels.withUnsafeBufferPointer { f in
      background.pixels.withUnsafeBufferPointer { b in f.baseAddress == b.baseAddress }
    }
    if same { return }
    foreground.pixels.withUnsafeBufferPointer { fg in
      background.pixels.withUnsafeMutableBufferPointer { out in
        for i in 0..<mask.count {
          let m = Int(mask[i])
          if m == 0 { continue }
          for c in 0..<3 {
            let f = Int(fg[i * 3 + c])
            let b = Int(out[i * 3 + c])
            out[i * 3 + c] = UInt8((f * m + b * (255 - m) + 127) / 255)
          }
        }
      }
    }
  }

  /// Separable box blur with edge clamping; each output is the rounded mean of its window.
  /// The horizontal pass runs in place through a one-row buffer; the vertical pass keeps a
  /// running sum per column and writes a second mask.
  static func boxBlur(_ input: [UInt8], width: Int, height: Int, radius: Int) -> [UInt8] {
    let window = 2 * radius + 1
    var horizontal = input
    var line = [Int](repeating: 0, count: width)
    horizontal.withUnsafeMutableBufferPointer { pixels in
      for y in 0..<height {
        let row = y * width
        for x in 0..<width { line[x] = Int(pixels[row + x]) }
        var sum = 0
        for k in -radius...radius { sum += line[min(max(k, 0), width - 1)] }
        for x in 0..<width {
          pixels[row + x] = UInt8((sum + window / 2) / window)
          sum += line[min(x + radius + 1, width - 1)] - line[max(x - radius, 0)]
        }
      }
    }
    var out = [UInt8](repeating: 0, count: width * height)
    var sums = [Int](repeating: 0, count: width)
    horizontal.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for k in -radius...radius {
          let row = min(max(k, 0), height - 1) * width
          for x in 0..<width { sums[x] += Int(src[row + x]) }
        }
        for y in 0..<height {
          let row = y * width
          let entering = min(y + radius + 1, height - 1) * width
          let leaving = max(y - radius, 0) * width
          for x in 0..<width {
            dst[row + x] = UInt8((sums[x] + window / 2) / window)
            sums[x] += Int(src[entering + x]) - Int(src[leaving + x])
          }
        }
      }
    }
    return out
  }
}
