import MISC
import MISCCoding
import MISCImage
import Testing

@Suite struct ItemMaskTests {
  /// The mask rendered the obvious way: block upsampling, then a clamped box mean per axis.
  static func reference(_ map: BinaryMap, width: Int, height: Int, radius: Int) -> [UInt8] {
    var mask = [Int](repeating: 0, count: width * height)
    for y in 0..<height {
      for x in 0..<width where map[x * map.width / width, y * map.height / height] { mask[y * width + x] = 255 }
    }
    guard radius > 0 else { return mask.map { UInt8($0) } }
    let window = 2 * radius + 1
    var horizontal = mask
    for y in 0..<height {
      for x in 0..<width {
        let sum = (-radius...radius).reduce(0) { $0 + mask[y * width + min(max(x + $1, 0), width - 1)] }
        horizontal[y * width + x] = (sum + window / 2) / window
      }
    }
    var out = horizontal
    for y in 0..<height {
      for x in 0..<width {
        let sum = (-radius...radius).reduce(0) { $0 + horizontal[min(max(y + $1, 0), height - 1) * width + x] }
        out[y * width + x] = (sum + window / 2) / window
      }
    }
    return out.map { UInt8($0) }
  }

  @Test(arguments: [(37, 23, 0), (37, 23, 1), (64, 48, 3), (20, 30, 12), (5, 3, 4)])
  func renderMatchesTheReference(width: Int, height: Int, radius: Int) {
    let map = BinaryMap(width: 8, height: 8, cells: (0..<64).map { ($0 * 5 + $0 / 8) % 3 == 0 })
    #expect(ItemMask.render(map, width: width, height: height, featherRadius: radius) == Self.reference(map, width: width, height: height, radius: radius))
  }

  @Test func blendingAnImageIntoItselfChangesNothing() {
    var image = Image(width: 3, height: 2, pixels: (0..<18).map { UInt8($0 * 13) })
    let copy = image
    ItemMask.blend(image, into: &image, mask: [0, 64, 128, 200, 255, 1])
    #expect(image == copy)
    var background = Image(width: 3, height: 2, fill: (0, 0, 0))
    ItemMask.blend(Image(width: 3, height: 2, fill: (255, 255, 255)), into: &background, mask: [0, 64, 128, 200, 255, 1])
    #expect(background.pixels.enumerated().allSatisfy { $0.element == [0, 64, 128, 200, 255, 1][$0.offset / 3] })
  }
}
