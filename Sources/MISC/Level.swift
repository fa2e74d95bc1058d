/// The paper's operating points. MISC-1 and MISC-2 keep items and maps; MISC-3 drops them
/// and spends the bits on the thumbnail (paper §IV, Table III).
public enum Level: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case misc1 = 1
  case misc2 = 2
  case misc3 = 3

  /// The target rate of the whole file, from the paper's reported rates.
  public var bitsPerPixel: Double {
    switch self {
    case .misc1: return 0.0225
    case .misc2: return 0.03
    case .misc3: return 0.047
    }
  }

  /// Whether items and their maps are kept.
  public var keepsItems: Bool { self != .misc3 }

  /// The overview's word budget (the paper asks for about fifty words at every level).
  public var overviewWords: Int { 50 }

  public var description: String { "MISC-\(rawValue)" }
}

/// What rate an encode aims at: a preset level or any bits per pixel.
public enum RateTarget: Sendable, Hashable, CustomStringConvertible {
  case level(Level)
  case bitsPerPixel(Double)

  /// The supported range of `--bpp`.
  public static let bitsPerPixelRange = 0.001...1.0

  public var bitsPerPixel: Double {
    switch self {
    case let .level(level): return level.bitsPerPixel
    case let .bitsPerPixel(bpp): return bpp
    }
  }

  /// The level stored in the file: 1...3, or 0 for a custom rate.
  public var levelCode: Int {
    if case let .level(level) = self { return level.rawValue }
    return 0
  }

  public var keepsItems: Bool {
    if case let .level(level) = self { return level.keepsItems }
    return true
  }

  /// The largest file, in bytes, for an image of `pixels` pixels.
  public func budgetBytes(pixels: Int) -> Int {
    Int((bitsPerPixel * Double(pixels) / 8).rounded(.down))
  }

  public var description: String {
    switch self {
    case let .level(level): return "\(level) (\(level.bitsPerPixel) bpp)"
    case let .bitsPerPixel(bpp): return "\(bpp) bpp"
    }
  }
}
