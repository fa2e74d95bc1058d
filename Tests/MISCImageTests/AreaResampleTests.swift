import Testing
import MISCImage

@Suite("Resample.area")
struct AreaResampleTests {
  /// One-row grey image from values.
  private func row(_ values: [UInt8]) -> Image {
    Image(width: values.count, height: 1, pixels: values.flatMap { [$0, $0, $0] })
  }

  private func greys(_ image: Image) -> [UInt8] {
    stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] }
  }

  @Test("a constant image stays constant", arguments: [(37, 23, 10, 7), (5, 5, 3, 2), (7, 7, 7, 3), (3, 2, 8, 5), (100, 1, 1, 1)])
  func constant(sizes: (Int, Int, Int, Int)) {
    let image = Image(width: sizes.0, height: sizes.1, fill: (17, 128, 255))
    let result = Resample.area(image, width: sizes.2, height: sizes.3)
    #expect(result == Image(width: sizes.2, height: sizes.3, fill: (17, 128, 255)))
  }

  @Test("2x downsampling is the rounded mean of each 2x2 block")
  func halving() {
    let image = TestSupport.noiseImage(width: 16, height: 10, seed: 11)
    let result = Resample.area(image, width: 8, height: 5)
    for y in 0..<5 {
      for x in 0..<8 {
        for c in 0..<3 {
          let sum = Int(image[2 * x, 2 * y, c]) + Int(image[2 * x + 1, 2 * y, c])
            + Int(image[2 * x, 2 * y + 1, c]) + Int(image[2 * x + 1, 2 * y + 1, c])
          #expect(Int(result[x, y, c]) == (sum + 2) / 4)
        }
      }
    }
  }

  @Test("non-integer factors match hand-computed coverage means")
  func handComputed() {
    // 3 -> 2: output 0 covers pixel 0 fully and half of pixel 1: (0 + 90 / 2) / 1.5 = 30.
    #expect(greys(Resample.area(row([0, 90, 180]), width: 2, height: 1)) == [30, 150])
    // 5 -> 3, weights in thirds: (10*3 + 20*2) / 5 = 14, (20 + 30*3 + 40) / 5 = 30, (40*2 + 50*3) / 5 = 46.
    #expect(greys(Resample.area(row([10, 20, 30, 40, 50]), width: 3, height: 1)) == [14, 30, 46])
    // 3 -> 2 with rounding: 100 / 3 = 33.3 -> 33; and 1 / 2 = 0.5 rounds up.
    #expect(greys(Resample.area(row([0, 100, 0]), width: 2, height: 1)) == [33, 33])
    #expect(greys(Resample.area(row([1, 0]), width: 1, height: 1)) == [1])
    // 3x3 -> 2x2 of v = 30x + 90y: each output is 30 * mean(x) + 90 * mean(y), means 1/3 and 5/3.
    let grid = Image(width: 3, height: 3, pixels: [0, 30, 60, 90, 120, 150, 180, 210, 240].flatMap { [$0, $0, $0] })
    #expect(greys(Resample.area(grid, width: 2, height: 2)) == [40, 80, 160, 200])
  }

  @Test("the separable integer passes equal a brute-force 2-D coverage mean",
        arguments: [(13, 9, 5, 4), (20, 20, 7, 3), (9, 7, 9, 2), (6, 5, 11, 8), (31, 17, 30, 16)])
  func bruteForce(sizes: (Int, Int, Int, Int)) {
    let (inW, inH, outW, outH) = sizes
    let image = TestSupport.noiseImage(width: inW, height: inH, seed: UInt64(inW * 31 + outW))
    let result = Resample.area(image, width: outW, height: outH)
    // In units of 1/outW (x) and 1/outH (y), output (ox, oy) spans [ox*inW, (ox+1)*inW) x [oy*inH, (oy+1)*inH).
    func overlap(_ o: Int, _ i: Int, _ inSize: Int, _ outSize: Int) -> Int {
      max(0, min((o + 1) * inSize, (i + 1) * outSize) - max(o * inSize, i * outSize))
    }
    for oy in 0..<outH {
      for ox in 0..<outW {
        for c in 0..<3 {
          var sum = 0
          for y in 0..<inH {
            for x in 0..<inW {
              sum += Int(image[x, y, c]) * overlap(ox, x, inW, outW) * overlap(oy, y, inH, outH)
            }
          }
          let divisor = inW * inH
          #expect(Int(result[ox, oy, c]) == (sum + divisor / 2) / divisor)
        }
      }
    }
  }
}
