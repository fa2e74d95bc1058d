/// A binary location map: which cells of a coarse grid over the image hold an item (paper: M[j]).
public struct BinaryMap: Sendable, Hashable {
  /// Grid sides the `.misc` format carries.
  public static let sideRange = 8...16

  public let width: Int
  public let height: Int
  /// Row-major cells, `true` where the item is.
  public var cells: [Bool]

  public init(width: Int, height: Int, cells: [Bool]) {
    precondition(width > 0 && height > 0 && cells.count == width * height, "map cells do not match \(width)x\(height)")
    self.width = width
    self.height = height
    self.cells = cells
  }

  public init(width: Int, height: Int, fill: Bool = false) {
    self.init(width: width, height: height, cells: [Bool](repeating: fill, count: width * height))
  }

  public subscript(x: Int, y: Int) -> Bool {
    get { cells[y * width + x] }
    set { cells[y * width + x] = newValue }
  }

  public var isEmpty: Bool { !cells.contains(true) }
  public var isFull: Bool { !cells.contains(false) }
  public var setCount: Int { cells.reduce(0) { $0 + ($1 ? 1 : 0) } }

  /// Rows as strings of `1` and `0`, the form the semantics JSON uses.
  public var rows: [String] {
    (0..<height).map { y in String((0..<width).map { self[$0, y] ? "1" : "0" }) }
  }

  /// The map drawn as a character grid, `#` for set cells and `.` for clear ones.
  public func drawn(set: Character = "#", clear: Character = ".") -> [String] {
    (0..<height).map { y in String((0..<width).map { self[$0, y] ? set : clear }) }
  }
}
