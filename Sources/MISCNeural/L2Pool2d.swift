/// DISTS's L2 pooling: `sqrt(conv(x², g) + 1e-12)` per channel with the 3x3 Hann window
/// g = [½, 1, ½]ᵀ[½, 1, ½] / 4, stride 2, zero padding 1 (its `L2pooling(filter_size=5)`).
/// Replaces VGG's max pooling to avoid aliasing. [C, H, W] -> [C, ⌊(H−1)/2⌋+1, ⌊(W−1)/2⌋+1]
public struct L2Pool2d: Sendable {
  /// The separable window's taps, [½, 1, ½] / 2, so that the 2-D window sums to one.
  public static let taps: [Float] = [0.25, 0.5, 0.25]

  public init() {}

  /// [channels, height, width] -> [channels, height', width']
  public func callAsFunction(_ x: Tensor) -> Tensor {
    precondition(x.rank == 3, "L2 pooling of \(x.shape); expected [channels, height, width]")
    let (channels, height, width) = (x.shape[0], x.shape[1], x.shape[2])
    let (outHeight, outWidth) = ((height - 1) / 2 + 1, (width - 1) / 2 + 1)
    let t = Self.taps
    return Tensor(shape: [channels, outHeight, outWidth]) { out in
      x.scalars.withUnsafeBufferPointer { src in
        for c in 0..<channels {
          let plane = src.baseAddress! + c * height * width
          let dst = out.baseAddress! + c * outHeight * outWidth
          for oy in 0..<outHeight {
            for ox in 0..<outWidth {
              var sum: Float = 0
              for ky in 0..<3 {
                let iy = 2 * oy - 1 + ky
                guard iy >= 0 && iy < height else { continue }
                let line = plane + iy * width
                for kx in 0..<3 {
                  let ix = 2 * ox - 1 + kx
                  guard ix >= 0 && ix < width else { continue }
                  sum += t[ky] * t[kx] * (line[ix] * line[ix])
                }
              }
              dst[oy * outWidth + ox] = (sum + 1e-12).squareRoot()
            }
          }
        }
      }
    }
  }
}
