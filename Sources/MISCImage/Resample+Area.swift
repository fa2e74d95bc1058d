extension Resample {
  /// Area-average (box) resize to `width` x `height` by any factor, like OpenCV's INTER_AREA.
  ///
  /// Each output pixel is the mean of the source area it covers, with exact fractional coverage
  /// weights, rounded to nearest. The arithmetic is all integer, so the result is exact.
  /// Precondition: `width` and `height` are positive.
  public static func area(_ image: Image, width: Int, height: Int) -> Image {
    precondition(width > 0 && height > 0, "Resample.area needs a positive size, got \(width)x\(height)")
    if width == image.width && height == image.height { return image }
    let columns = AreaWeights(inputSize: image.width, outputSize: width)
    let rows = AreaWeights(inputSize: image.height, outputSize: height)
    // Each output sample is sum(pixel * wx * wy) / (inWidth * inHeight) with integer weights.
    let divisor = image.width * image.height
    let half = divisor / 2

    // Horizontal pass: [image.height, width, 3] unnormalised sums (at most 255 * image.width).
    var horizontal = [Int](repeating: 0, count: image.height * width * 3)
    image.pixels.withUnsafeBufferPointer { src in
      horizontal.withUnsafeMutableBufferPointer { dst in
        for y in 0..<image.height {
          let srcRow = y * image.width * 3, dstRow = y * width * 3
          for x in 0..<width {
            var r = 0, g = 0, b = 0
            let first = columns.first[x]
            for k in columns.offsets[x]..<columns.offsets[x + 1] {
              let s = srcRow + (first + k - columns.offsets[x]) * 3
              let w = columns.weights[k]
              r += Int(src[s]) * w
              g += Int(src[s + 1]) * w
              b += Int(src[s + 2]) * w
            }
            dst[dstRow + x * 3] = r
            dst[dstRow + x * 3 + 1] = g
            dst[dstRow + x * 3 + 2] = b
          }
        }
      }
    }

    // Vertical pass, then the single rounding division.
    let rowLength = width * 3
    let pixels = horizontal.withUnsafeBufferPointer { src in
      [UInt8](unsafeUninitializedCapacity: height * rowLength) { dst, initialized in
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: rowLength)
        defer { sums.deallocate() }
        let source = src.baseAddress!
        for y in 0..<height {
          sums.update(repeating: 0, count: rowLength)
          let first = rows.first[y]
          for k in rows.offsets[y]..<rows.offsets[y + 1] {
            let row = source + (first + k - rows.offsets[y]) * rowLength
            let w = rows.weights[k]
            for i in 0..<rowLength { sums[i] &+= row[i] &* w }
          }
          let out = dst.baseAddress! + y * rowLength
          for i in 0..<rowLength { out[i] = UInt8(truncatingIfNeeded: (sums[i] + half) / divisor) }
        }
        initialized = height * rowLength
      }
    }
    return Image(width: width, height: height, pixels: pixels)
  }
}
