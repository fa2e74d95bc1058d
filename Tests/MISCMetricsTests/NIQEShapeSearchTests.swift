import Testing
@testable import MISCMetrics

@Suite struct NIQEShapeSearchTests {
  /// The binary search finds what a full scan for the first closest ratio finds.
  @Test func binarySearchEqualsTheFullScan() {
    let ratios = NIQE.shapeRatios
    #expect(zip(ratios, ratios.dropFirst()).allSatisfy { $0 < $1 })
    var targets = [0.0, -1, 10, ratios[0], ratios[500], ratios.last!, (ratios[700] + ratios[701]) / 2]
    var state: UInt64 = 12345
    for _ in 0..<2000 {
      state = state &* 6364136223846793005 &+ 1442695040888963407
      targets.append(Double(state >> 11) / Double(1 << 53) * 0.9)
    }
    for target in targets {
      var best = 0, bestDistance = Double.infinity
      for (i, r) in ratios.enumerated() where abs(r - target) < bestDistance { best = i; bestDistance = abs(r - target) }
      #expect(NIQE.closestShape(target) == best, "target \(target)")
    }
  }
}
