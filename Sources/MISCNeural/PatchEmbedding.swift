/// The ViT patch embedding: a bias-free convolution whose stride equals its kernel, computed as
/// im2col followed by one sgemm.
public struct PatchEmbedding: Sendable {
  /// The convolution kernel flattened to [width, channels * patch * patch] (PyTorch's [width, channels, patch, patch]).
  public let weight: Tensor
  public let channels: Int
  public let patch: Int

  public init(weight: Tensor, channels: Int, patch: Int) {
    precondition(weight.rank == 2 && weight.columns == channels * patch * patch,
                 "patch embedding weight \(weight.shape) is not [width, \(channels * patch * patch)]")
    self.weight = weight
    self.channels = channels
    self.patch = patch
  }

  public var width: Int { weight.rows }

  /// [channels, height, width] -> [patches, width], patches row-major over the (height/patch) x (width/patch) grid.
  public func callAsFunction(_ pixels: Tensor) -> Tensor {
    precondition(pixels.rank == 3 && pixels.shape[0] == channels, "patch embedding of \(pixels.shape)")
    let (height, imageWidth) = (pixels.shape[1], pixels.shape[2])
    precondition(height % patch == 0 && imageWidth % patch == 0, "\(height)x\(imageWidth) is not a multiple of the patch \(patch)")
    let (rows, columns) = (height / patch, imageWidth / patch)
    let length = channels * patch * patch
    let im2col = Tensor(shape: [rows * columns, length]) { out in
      pixels.scalars.withUnsafeBufferPointer { src in
        for py in 0..<rows {
          for px in 0..<columns {
            var dst = out.baseAddress! + (py * columns + px) * length
            for c in 0..<channels {
              for ky in 0..<patch {
                let row = src.baseAddress! + (c * height + py * patch + ky) * imageWidth + px * patch
                dst.update(from: row, count: patch)
                dst += patch
              }
            }
          }
        }
      }
    }
    return im2col.matmul(weight, transposingOther: true)
  }
}
