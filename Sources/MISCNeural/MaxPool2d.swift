/// Max pooling over square windows (`nn.MaxPool2d`, dilation 1); padding never wins. [C, H, W] -> [C, H', W']
public struct MaxPool2d: Sendable {
  public let window: Pool2dWindow

  public init(kernel: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false) {
    window = Pool2dWindow(kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
  }

  /// [channels, height, width] -> [channels, height', width']
  public func callAsFunction(_ x: Tensor) -> Tensor {
    precondition(x.rank == 3, "max pooling of \(x.shape); expected [channels, height, width]")
    let (channels, height, width) = (x.shape[0], x.shape[1], x.shape[2])
    let (outHeight, outWidth) = (window.outputSize(height), window.outputSize(width))
    let (k, s, p) = (window.kernel, window.stride, window.padding)
    // Separable: the maximum over the window's rows for every column (a vectorised pass over whole rows),
    // then over the window's columns of that row. NaN wins wherever it is, as in PyTorch.
    // The row buffer has room for the vector loads of the stride-2 pass, which read one float past the window.
    let rowMaximum = UnsafeMutablePointer<Float>.allocate(capacity: width + 16)
    rowMaximum.initialize(repeating: 0, count: width + 16)
    defer { rowMaximum.deallocate() }
    // Output columns whose window lies inside the row: the stride-2 pass takes eight of them at a time.
    let firstInside = (p + 1) / 2, lastInside = width - k + p >= 0 ? (width - k + p) / 2 : -1
    let interior = s == 2 && lastInside >= firstInside ? firstInside..<min(outWidth, lastInside + 1) : 0..<0
    return Tensor(shape: [channels, outHeight, outWidth]) { out in
      x.scalars.withUnsafeBufferPointer { src in
        for c in 0..<channels {
          let plane = src.baseAddress! + c * height * width
          let dst = out.baseAddress! + c * outHeight * outWidth
          for oy in 0..<outHeight {
            let y0 = max(oy * s - p, 0), y1 = min(oy * s - p + k, height)
            rowMaximum.update(from: plane + y0 * width, count: width)
            for iy in y0 + 1..<y1 {
              let line = plane + iy * width
              for ix in 0..<width { rowMaximum[ix] = Self.larger(rowMaximum[ix], line[ix]) }
            }
            let row = dst + oy * outWidth
            var ox = 0
            while ox < outWidth {
              if ox == interior.lowerBound && interior.count >= 8 {
                // Eight windows at once: the even lanes of a load from the window's column j are column j
                // of the eight windows.
                while ox + 8 <= interior.upperBound {
                  let start = rowMaximum + 2 * ox - p
                  var best = UnsafeRawPointer(start).loadUnaligned(as: SIMD16<Float>.self).evenHalf
                  for j in 1..<k {
                    let candidate = UnsafeRawPointer(start + j).loadUnaligned(as: SIMD16<Float>.self).evenHalf
                    best.replace(with: candidate, where: candidate .> best .| candidate .!= candidate)
                  }
                  UnsafeMutableRawPointer(row + ox).storeBytes(of: best, as: SIMD8<Float>.self)
                  ox += 8
                }
                continue
              }
              let x0 = max(ox * s - p, 0), x1 = min(ox * s - p + k, width)
              var best = rowMaximum[x0]
              for ix in x0 + 1..<x1 { best = Self.larger(best, rowMaximum[ix]) }
              row[ox] = best
              ox += 1
            }
          }
        }
      }
    }
  }

  /// `candidate` where it is larger than `best` or NaN, else `best` (PyTorch's `val > maxval || isnan(val)`),
  /// without a branch.
  @inline(__always)
  static func larger(_ best: Float, _ candidate: Float) -> Float {
    candidate > best || candidate != candidate ? candidate : best
  }
}
