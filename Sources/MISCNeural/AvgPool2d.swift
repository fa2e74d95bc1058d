/// Average pooling over square windows (`nn.AvgPool2d`): padded zeros count toward the divisor unless
/// `countIncludePad` is false; a window clipped by the ceil rule divides by its clipped size, as PyTorch does.
public struct AvgPool2d: Sendable {
  public let window: Pool2dWindow
  public let countIncludePad: Bool

  public init(kernel: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false, countIncludePad: Bool = true) {
    window = Pool2dWindow(kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
    self.countIncludePad = countIncludePad
  }

  /// [channels, height, width] -> [channels, height', width']
  public func callAsFunction(_ x: Tensor) -> Tensor {
    precondition(x.rank == 3, "average pooling of \(x.shape); expected [channels, height, width]")
    let (channels, height, width) = (x.shape[0], x.shape[1], x.shape[2])
    let (outHeight, outWidth) = (window.outputSize(height), window.outputSize(width))
    let (k, s, p) = (window.kernel, window.stride, window.padding)
    return Tensor(shape: [channels, outHeight, outWidth]) { out in
      x.scalars.withUnsafeBufferPointer { src in
        for c in 0..<channels {
          let plane = src.baseAddress! + c * height * width
          let dst = out.baseAddress! + c * outHeight * outWidth
          for oy in 0..<outHeight {
            let paddedY0 = oy * s - p, paddedY1 = min(paddedY0 + k, height + p)
            let y0 = max(paddedY0, 0), y1 = min(paddedY1, height)
            for ox in 0..<outWidth {
              let paddedX0 = ox * s - p, paddedX1 = min(paddedX0 + k, width + p)
              let x0 = max(paddedX0, 0), x1 = min(paddedX1, width)
              var sum: Float = 0
              for iy in y0..<y1 {
                let line = plane + iy * width
                for ix in x0..<x1 { sum += line[ix] }
              }
              let divisor = countIncludePad ? (paddedY1 - paddedY0) * (paddedX1 - paddedX0) : (y1 - y0) * (x1 - x0)
              dst[oy * outWidth + ox] = sum / Float(divisor)
            }
          }
        }
      }
    }
  }
}
