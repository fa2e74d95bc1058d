import MISCCoding
import MISCImage

/// The size of a binary map's grid, in cells.
public struct GridSize: Sendable, Hashable {
  public var width: Int
  public var height: Int

  public init(width: Int, height: Int) {
    self.width = width
    self.height = height
  }

  /// The paper's 8x8 grid.
  public static let paper = GridSize(width: 8, height: 8)
}

/// The map encoder seam: item names in, one binary grid per name out.
public protocol Locator: Sendable {
  func locate(_ names: [String], in image: Image, grid: GridSize) async throws -> [BinaryMap]
}
