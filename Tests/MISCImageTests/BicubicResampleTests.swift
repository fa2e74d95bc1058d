import Foundation
import Testing
import MISCImage

@Suite("Resample.bicubic")
struct BicubicResampleTests {
  struct Case: CustomStringConvertible, Sendable {
    let input: String, width: Int, height: Int, expected: String
    var description: String { "\(input) -> \(width)x\(height)" }
  }

  /// The cases listed by scripts/fixtures/make_bicubic_fixture.py.
  static func cases() throws -> [Case] {
    let text = try String(contentsOfFile: TestSupport.fixture("bicubic_cases.txt"), encoding: .utf8)
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
      let f = line.split(separator: " ").map(String.init)
      return Case(input: f[0], width: Int(f[1])!, height: Int(f[2])!, expected: f[3])
    }
  }

  @Test("matches Pillow's Image.resize(BICUBIC) on a real photo", arguments: try cases())
  func matchesPillow(_ testCase: Case) throws {
    let input = try ImageIO.read(path: TestSupport.fixture(testCase.input)).image
    let expected = try ImageIO.read(path: TestSupport.fixture(testCase.expected)).image
    let result = Resample.bicubic(input, width: testCase.width, height: testCase.height)
    #expect(result.width == expected.width && result.height == expected.height)
    let difference = TestSupport.maxAbsDifference(result, expected)
    let mismatches = zip(result.pixels, expected.pixels).filter { $0 != $1 }.count
    print("bicubic \(input.width)x\(input.height) -> \(testCase.width)x\(testCase.height): max abs difference vs Pillow = \(difference), samples differing = \(mismatches)")
    #expect(difference <= 1)
  }

  @Test("same size is the identity; a constant image stays constant")
  func trivial() {
    let image = TestSupport.noiseImage(width: 9, height: 5, seed: 1)
    #expect(Resample.bicubic(image, width: 9, height: 5) == image)
    let flat = Image(width: 13, height: 7, fill: (0, 99, 255))
    #expect(Resample.bicubic(flat, width: 40, height: 3) == Image(width: 40, height: 3, fill: (0, 99, 255)))
    #expect(Resample.bicubic(flat, width: 4, height: 30) == Image(width: 4, height: 30, fill: (0, 99, 255)))
  }
}

@Suite("Resample.bicubicSquaredError")
struct BicubicSquaredErrorTests {
  /// Exactly the squared error of the resized image, whichever axes are resampled and which way.
  @Test func matchesTheResizedImage() {
    let sizes = [(1, 1), (3, 2), (9, 5), (24, 16), (37, 29), (50, 3), (2, 41)]
    for (index, (w, h)) in sizes.enumerated() {
      let small = TestSupport.noiseImage(width: w, height: h, seed: UInt64(index + 1))
      for (width, height) in [(w, h), (w * 3 + 1, h), (w, h * 4 + 2), (w * 5 + 3, h * 7 + 1), (max(1, w / 2), h * 3), (61, 41)] {
        let reference = TestSupport.noiseImage(width: width, height: height, seed: UInt64(100 + index))
        let resized = Resample.bicubic(small, width: width, height: height)
        let expected = zip(resized.pixels, reference.pixels).reduce(UInt64(0)) { sum, pair in
          let d = Int(pair.0) - Int(pair.1)
          return sum + UInt64(d * d)
        }
        #expect(Resample.bicubicSquaredError(small, against: reference) == expected, "\(w)x\(h) -> \(width)x\(height)")
      }
    }
  }
}
