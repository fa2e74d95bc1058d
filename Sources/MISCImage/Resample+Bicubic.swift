extension Resample {
  /// Bicubic resize to `width` x `height`, bit-exact with Pillow's
  /// `Image.resize((width, height), Image.BICUBIC)` on 8-bit RGB.
  ///
  /// A separable convolution with the a = -0.5 cubic kernel, its support widened by the factor
  /// when downsampling, coefficients normalised and rounded to 22-bit fixed point; the horizontal
  /// pass runs first into a clipped 8-bit intermediate. Precondition: `width` and `height` are positive.
  public static func bicubic(_ image: Image, width: Int, height: Int) -> Image {
    precondition(width > 0 && height > 0, "Resample.bicubic needs a positive size, got \(width)x\(height)")
    var result = image
    if width != image.width {
      let kernel = PillowBicubicKernel(inputSize: image.width, outputSize: width)
      // Only the rows the vertical pass reads need a horizontal pass.
      var rowRange = 0..<image.height
      if height != image.height {
        let vertical = PillowBicubicKernel(inputSize: image.height, outputSize: height)
        rowRange = vertical.sourceRange
      }
      result = horizontalPass(image, rows: rowRange, kernel: kernel)
      if height != image.height {
        let vertical = PillowBicubicKernel(inputSize: image.height, outputSize: height, shift: rowRange.lowerBound)
        result = verticalPass(result, kernel: vertical)
      }
    } else if height != image.height {
      result = verticalPass(image, kernel: PillowBicubicKernel(inputSize: image.height, outputSize: height))
    }
    return result
  }

  /// Resamples each row in `rows` of `image` to `kernel.outputSize` columns.
  private static func horizontalPass(_ image: Image, rows: Range<Int>, kernel: PillowBicubicKernel) -> Image {
    let outWidth = kernel.outputSize
    let pixels = image.pixels.withUnsafeBufferPointer { src in
      kernel.coefficients.withUnsafeBufferPointer { coefficients in
        [UInt8](unsafeUninitializedCapacity: rows.count * outWidth * 3) { dst, initialized in
          for (outY, y) in rows.enumerated() {
            horizontalRow(src.baseAddress! + y * image.width * 3, to: dst.baseAddress! + outY * outWidth * 3,
                          kernel: kernel, coefficients: coefficients)
          }
          initialized = rows.count * outWidth * 3
        }
      }
    }
    return Image(width: outWidth, height: rows.count, pixels: pixels)
  }

  /// One source row resampled to `kernel.outputSize` columns (`coefficients`: the kernel's).
  private static func horizontalRow(_ source: UnsafePointer<UInt8>, to out: UnsafeMutablePointer<UInt8>,
                                    kernel: PillowBicubicKernel, coefficients: UnsafeBufferPointer<Int>) {
    let ksize = kernel.ksize
    for x in 0..<kernel.outputSize {
      let start = kernel.starts[x], count = kernel.counts[x]
      var r = PillowBicubicKernel.rounding, g = r, b = r
      for k in 0..<count {
        let c = coefficients[x * ksize + k]
        let s = (start + k) * 3
        r += Int(source[s]) * c
        g += Int(source[s + 1]) * c
        b += Int(source[s + 2]) * c
      }
      out[x * 3] = PillowBicubicKernel.clip8(r)
      out[x * 3 + 1] = PillowBicubicKernel.clip8(g)
      out[x * 3 + 2] = PillowBicubicKernel.clip8(b)
    }
  }

  /// Resamples every column of `image` to `kernel.outputSize` rows; kernel indices are rows of `image`.
  /// Sums are 32-bit as in Pillow (they cannot overflow: 255 · Σ|c| < 2^31), which lets the
  /// row loops vectorise.
  private static func verticalPass(_ image: Image, kernel: PillowBicubicKernel) -> Image {
    let outHeight = kernel.outputSize
    let rowLength = image.width * 3
    let ksize = kernel.ksize
    let coefficients = kernel.coefficients.map { Int32($0) }
    let pixels = image.pixels.withUnsafeBufferPointer { src in
      [UInt8](unsafeUninitializedCapacity: outHeight * rowLength) { dst, initialized in
        let sums = UnsafeMutablePointer<Int32>.allocate(capacity: rowLength)
        defer { sums.deallocate() }
        let source = src.baseAddress!
        for y in 0..<outHeight {
          let start = kernel.starts[y], count = kernel.counts[y]
          sums.update(repeating: Int32(PillowBicubicKernel.rounding), count: rowLength)
          for k in 0..<count {
            let c = coefficients[y * ksize + k]
            let row = source + (start + k) * rowLength
            for i in 0..<rowLength { sums[i] &+= Int32(row[i]) &* c }
          }
          let out = dst.baseAddress! + y * rowLength
          for i in 0..<rowLength { out[i] = PillowBicubicKernel.clip8(sums[i]) }
        }
        initialized = outHeight * rowLength
      }
    }
    return Image(width: image.width, height: outHeight, pixels: pixels)
  }
}

extension Resample {
  /// The sum of squared differences, over all samples, between `bicubic(image, width:
  /// reference.width, height: reference.height)` and `reference`, computed without building the
  /// resized image: each output row is formed (by the same integer arithmetic as `bicubic`'s two
  /// passes) and compared at once, and only the few horizontally resampled rows the vertical
  /// pass is reading are kept. A rate search scores many candidate thumbnails this way against a
  /// large original.
  public static func bicubicSquaredError(_ image: Image, against reference: Image) -> UInt64 {
    let width = reference.width, height = reference.height
    let rowLength = width * 3
    let horizontal = width != image.width ? PillowBicubicKernel(inputSize: image.width, outputSize: width) : nil
    let vertical = height != image.height ? PillowBicubicKernel(inputSize: image.height, outputSize: height) : nil
    // A ring of horizontally resampled source rows, `slots` of them, tagged with their row.
    let slots = vertical?.ksize ?? 1
    var ring = [UInt8](repeating: 0, count: slots * rowLength)
    var tags = [Int](repeating: -1, count: slots)
    var sums = [Int32](repeating: 0, count: rowLength)
    var total: UInt64 = 0
    image.pixels.withUnsafeBufferPointer { src in
      reference.pixels.withUnsafeBufferPointer { ref in
        ring.withUnsafeMutableBufferPointer { ring in
          sums.withUnsafeMutableBufferPointer { sums in
            /// Source row `y` resampled to `width` columns, as `horizontalPass` makes it.
            func row(_ y: Int) -> UnsafePointer<UInt8> {
              let slot = y % slots
              let out = ring.baseAddress! + slot * rowLength
              if tags[slot] != y {
                tags[slot] = y
                let source = src.baseAddress! + y * image.width * 3
                if let kernel = horizontal {
                  kernel.coefficients.withUnsafeBufferPointer { horizontalRow(source, to: out, kernel: kernel, coefficients: $0) }
                } else {
                  out.update(from: source, count: rowLength)
                }
              }
              return UnsafePointer(out)
            }
            for y in 0..<height {
              let target = ref.baseAddress! + y * rowLength
              var rowTotal: UInt64 = 0
              if let kernel = vertical {
                // As `verticalPass`: 32-bit sums, as in Pillow.
                let start = kernel.starts[y], count = kernel.counts[y]
                sums.update(repeating: Int32(PillowBicubicKernel.rounding))
                for k in 0..<count {
                  let c = Int32(kernel.coefficients[y * kernel.ksize + k])
                  let source = row(start + k)
                  for i in 0..<rowLength { sums[i] &+= Int32(source[i]) &* c }
                }
                for i in 0..<rowLength {
                  let d = Int(PillowBicubicKernel.clip8(sums[i])) - Int(target[i])
                  rowTotal &+= UInt64(d * d)
                }
              } else {
                let source = row(y)
                for i in 0..<rowLength {
                  let d = Int(source[i]) - Int(target[i])
                  rowTotal &+= UInt64(d * d)
                }
              }
              total &+= rowTotal
            }
          }
        }
      }
    }
    return total
  }
}
