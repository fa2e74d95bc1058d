/// One item's CLIP Surgery similarity over the patch grid, min–max normalised to [0, 1].
public struct SimilarityMap: Sendable, Hashable {
  public var name: String
  /// Patches per row and per column (14 x 14 for ViT-B/16 at 224).
  public var width: Int
  public var height: Int
  /// [height, width] row-major: patch (x, y) is `values[y * width + x]`.
  public var values: [Float]

  public init(name: String, width: Int, height: Int, values: [Float]) {
    precondition(width > 0 && height > 0 && values.count == width * height, "similarity values do not fill \(width)x\(height)")
    self.name = name
    self.width = width
    self.height = height
    self.values = values
  }

  /// The map over an `imageWidth` x `imageHeight` image, pooled to `grid`: bilinear upsampling to the
  /// image size, then an antialiased resize to the grid (see `MapResampling`). [grid.height, grid.width]
  public func pooled(to grid: GridSize, imageWidth: Int, imageHeight: Int) -> [Float] {
    let upsampled = MapResampling.bilinear(values, width: width, height: height, toWidth: imageWidth, toHeight: imageHeight)
    return MapResampling.antialiasedResize(upsampled.map(Double.init), width: imageWidth, height: imageHeight,
                                           toWidth: grid.width, toHeight: grid.height).map(Float.init)
  }
}
