/// A decoded image and what happened on the way in.
public struct LoadedImage: Sendable, Hashable {
  /// The pixels as 8-bit RGB.
  public var image: Image
  /// The format the bytes were in.
  public var format: ImageFormat
  /// One line each about lossy conversions the caller may want to show, e.g.
  /// "kodim.png: alpha channel composited on white". Returned, never printed.
  public var notices: [String]

  public init(image: Image, format: ImageFormat, notices: [String] = []) {
    self.image = image
    self.format = format
    self.notices = notices
  }
}
