import Foundation
import Testing
@testable import MISCCoding

/// The sanitizer-free sibling of the fuzz target FuzzContainerBody (Fuzz/README.md): random
/// mutations of real files, with the CRC recomputed so that they reach the range-coded body,
/// must each decode or throw a `ContainerError`, never trap.
@Suite struct ContainerMutationTests {
  /// Real files: the astronaut encoded at 192x128 (MISC-2) and 96x64 (MISC-3), as in Fuzz/Corpus.
  static let seeds: [[UInt8]] = [
    "b343cb7cfe7923b0e04e1aeca364c1fcdbf6f05e0c5f9346ff5e1e65ae836fd7595202a49dc9537078437cd2258ddd6f207c559b0be87ab7d31a4afe450c92e05279b12dd8a5ce8ac161d32342d64dd5f4068c419f91c39a8ce6e767",
    "b317586adb0035f06c50e59dfd1ea23346d70f4b91b057dd58def4de71810918f18b6c80",
  ].map { hex in
    stride(from: 0, to: hex.count, by: 2).map { i in
      UInt8(hex[hex.index(hex.startIndex, offsetBy: i)..<hex.index(hex.startIndex, offsetBy: i + 2)], radix: 16)!
    }
  }

  static func resealed(_ bytes: [UInt8]) -> [UInt8] {
    var bytes = bytes
    guard bytes.count >= Container.headerLength else { return bytes }
    let crc = Container.checksum(bytes)
    bytes[1] = UInt8(crc >> 8)
    bytes[2] = UInt8(crc & 0xFF)
    return bytes
  }

  @Test func theSeedsDecode() throws {
    for seed in Self.seeds { _ = try Container.decode(seed) }
  }

  @Test func mutatedBodiesDecodeOrThrowTheContainersError() throws {
    var rng = SplitMix64(seed: 17)
    var decoded = 0, refused = 0
    for round in 0..<1000 {
      var bytes = Self.seeds[round % Self.seeds.count]
      for _ in 0..<Int.random(in: 1...4, using: &rng) {
        let at = Int.random(in: Container.headerLength..<max(Container.headerLength + 1, bytes.count), using: &rng)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0 where at < bytes.count: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
        case 1 where at < bytes.count: bytes[at] = UInt8.random(in: 0...255, using: &rng)
        case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: min(at, bytes.count))
        case 3 where at < bytes.count: bytes.remove(at: at)
        case 4: bytes = Array(bytes.prefix(at))
        default: bytes.append(contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
      }
      do {
        _ = try Container.decode(Self.resealed(bytes), maxPixels: 1 << 20)
        decoded += 1
      } catch is ContainerError {
        refused += 1
      }
      // Any other error type fails the test here, by propagating.
    }
    #expect(decoded + refused == 1000)
    #expect(refused > 0)
  }
}

@Suite struct ContainerThumbnailLimitTests {
  @Test func aThumbnailAboveTheReadersLimitIsRefusedAndTheDefaultHasNone() throws {
    let file = ContainerMutationTests.seeds[0]
    let thumbnail = try #require(try Container.decode(file).contents.thumbnail)
    let pixels = thumbnail.width * thumbnail.height
    #expect(try Container.decode(file, maxThumbnailPixels: pixels).contents.thumbnail == thumbnail)
    #expect(throws: ContainerError.self) { try Container.decode(file, maxThumbnailPixels: pixels - 1) }
  }
}
