/// CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR).
///
/// The polynomial has (x + 1) as a factor, so it detects every error that flips an odd number
/// of bits, every 2-bit error in messages under 4 KiB, and every burst up to 16 bits.
public enum CRC16 {
  public static func checksum<C: Collection>(_ bytes: C, initial: UInt16 = 0xFFFF) -> UInt16
  where C.Element == UInt8 {
    var crc = initial
    for byte in bytes {
      crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
    }
    return crc
  }

  private static let table: [UInt16] = (0..<256).map { index in
    var crc = UInt16(index) << 8
    for _ in 0..<8 {
      crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
    }
    return crc
  }
}
