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
    return Tensor(shape: [channels, outHeight, outWidth]) { out in
      x.scalars.withUnsafeBufferPointer { src in
        for c in 0..<channels {
          let plane = src.baseAddress! + c * height * width
          let dst = out.baseAddress! + c * outHeight * outWidth
          for oy in 0..<outHeight {
            let y0 = max(oy * s - p, 0), y1 = min(oy * s - p + k, height)
            for ox in 0..<outWidth {
              let x0 = max(ox * s - p, 0), x1 = min(ox * s - p + k, width)
              var best = -Float.infinity
              for iy in y0..<y1 {
                let line = plane + iy * width
                for ix in x0..<x1 where line[ix] > best || line[ix].isNaN { best = line[ix] }
              }
              dst[oy * outWidth + ox] = best
            }
          }
        }
      }
    }
  }
}
