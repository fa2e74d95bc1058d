/// One format version of the `.misc` bitstream (docs/FORMAT.md, "Format profiles").
public struct FormatProfile: Sendable {
  /// The seed of decoding pass `index` (items 0...2, then the final pass as 3): SplitMix64's
  /// output for the state `fileSeed << 8 | index`, low 32 bits. Versions 2 to 4 share it.
  public static func passSeed(fileSeed: UInt32, index: Int) -> UInt32 {
    var z = (UInt64(fileSeed) << 8 | UInt64(index)) &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return UInt32(truncatingIfNeeded: z)
  }
}
