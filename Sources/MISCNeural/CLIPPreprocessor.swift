import MISCImage

/// CLIP's image preprocessing: resize to the tower's square input, scale to [0, 1], normalise with
/// CLIP's per-channel mean and std.
///
/// Resizing is Pillow's BICUBIC bit for bit (`Resample.bicubic`) on 8-bit RGB, then
/// `(x / 255 - mean) / std` in Float32 as torchvision's ToTensor + Normalize compute it, so both modes
/// equal the PIL pipeline exactly. Hugging Face's own `CLIPImageProcessor` in transformers 5 resizes
/// with torchvision instead and differs from PIL (see docs/CLIP.md); `CLIPImageProcessorPil` matches.
public struct CLIPPreprocessor: Sendable, Hashable {
  public enum Resize: String, Sendable, Hashable, CaseIterable {
    /// The paper's (and CLIP Surgery's) input: the whole image squashed to size x size, no crop.
    case squash
    /// CLIP's and Hugging Face's: the shortest side to `size` (the other truncated to an integer),
    /// then a centre crop (top-left offsets rounded down).
    case shortestSideCenterCrop = "crop"
  }

  /// The side of the square input.
  public var size = 224
  public var resize = Resize.squash
  public var mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
  public var std: [Float] = [0.26862954, 0.26130258, 0.27577711]

  public init(size: Int = 224, resize: Resize = .squash) {
    precondition(size > 0, "preprocessing size must be positive")
    self.size = size
    self.resize = resize
  }

  /// The size x size RGB image the tower sees, before normalisation.
  public func resized(_ image: Image) -> Image {
    switch resize {
    case .squash:
      return Resample.bicubic(image, width: size, height: size)
    case .shortestSideCenterCrop:
      let (w, h) = (image.width, image.height)
      let (newWidth, newHeight) = w <= h ? (size, max(size, size * h / w)) : (max(size, size * w / h), size)
      let scaled = Resample.bicubic(image, width: newWidth, height: newHeight)
      let (top, left) = ((newHeight - size) / 2, (newWidth - size) / 2)
      var pixels = [UInt8](repeating: 0, count: size * size * 3)
      for y in 0..<size {
        let src = ((top + y) * newWidth + left) * 3
        pixels.replaceSubrange(y * size * 3..<(y + 1) * size * 3, with: scaled.pixels[src..<(src + size * 3)])
      }
      return Image(width: size, height: size, pixels: pixels)
    }
  }

  /// [3, size, size], channel-major, normalised.
  public func callAsFunction(_ image: Image) -> Tensor {
    let square = resized(image)
    let plane = size * size
    return Tensor(shape: [3, size, size]) { out in
      square.pixels.withUnsafeBufferPointer { src in
        for c in 0..<3 {
          let (m, s) = (mean[c], std[c])
          for i in 0..<plane { out[c * plane + i] = (Float(src[i * 3 + c]) / 255 - m) / s }
        }
      }
    }
  }
}
