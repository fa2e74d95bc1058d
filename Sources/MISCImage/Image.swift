/// An 8-bit RGB image: interleaved, row-major, `width * height * 3` bytes.
///
/// Every pipeline stage speaks this one type. Alpha, grey and 16-bit inputs are converted to it
/// on load (see `ImageIO`).
public struct Image: Sendable, Hashable {
  public let width: Int
  public let height: Int
  /// [height, width, 3] RGB samples.
  public var pixels: [UInt8]

  public init(width: Int, height: Int, pixels: [UInt8]) {
    precondition(width > 0 && height > 0, "image dimensions must be positive")
    precondition(pixels.count == width * height * 3, "pixel count does not match \(width)x\(height) RGB")
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// A uniform image of one colour.
  public init(width: Int, height: Int, fill: (r: UInt8, g: UInt8, b: UInt8)) {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for i in stride(from: 0, to: pixels.count, by: 3) {
      pixels[i] = fill.r
      pixels[i + 1] = fill.g
      pixels[i + 2] = fill.b
    }
    self.init(width: width, height: height, pixels: pixels)
  }

  public var pixelCount: Int { width * height }

  /// Sample `channel` (0 = R, 1 = G, 2 = B) at column `x`, row `y`.
  @inlinable
  public subscript(x: Int, y: Int, channel: Int) -> UInt8 {
    get { pixels[(y * width + x) * 3 + channel] }
    set { pixels[(y * width + x) * 3 + channel] = newValue }
  }
}
