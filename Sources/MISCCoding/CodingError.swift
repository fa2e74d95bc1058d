/// A payload that cannot be decoded: what was being decoded and why.
public struct CodingError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The layer or structure being decoded, e.g. "thumbnail", "text", "map 2".
  public var layer: String
  public var reason: String

  public init(_ layer: String, _ reason: String) {
    self.layer = layer
    self.reason = reason
  }

  public var description: String { "\(layer): \(reason)" }
}
