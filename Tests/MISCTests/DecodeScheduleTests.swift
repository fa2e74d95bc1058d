import MISCCoding
import MISCImage
import Testing
@testable import MISC

/// Records every pass and paints its output a colour of its own, so the blend can be checked.
actor RecordingRestorer: Restorer {
  nonisolated var name: String { "recording" }
  private(set) var passes: [RestorePass] = []
  private(set) var conditions: [Image] = []

  func restore(_ condition: Image, _ pass: RestorePass) async throws -> Image {
    passes.append(pass)
    conditions.append(condition)
    switch pass.kind {
    case let .item(index): return Image(width: condition.width, height: condition.height, fill: (UInt8(50 * (index + 1)), 0, 0))
    case .final: return Image(width: condition.width, height: condition.height, fill: (0, 0, 255))
    }
  }
}

@Suite struct DecodeScheduleTests {
  func file(items: [Container.Item], overview: String = "a quiet street at dusk") throws -> [UInt8] {
    let size = Container.thumbnailSize(imageWidth: 64, imageHeight: 48, longSide: 16)
    let thumb = Container.Thumbnail(width: size.width, height: size.height, rgb: [UInt8](repeating: 90, count: size.width * size.height * 3))
    return try Container.encode(.init(width: 64, height: 48, level: 1, overview: overview, items: items, thumbnail: thumb),
                                thumbnailQuality: 2).bytes
  }

  func leftHalf() -> BinaryMap {
    var map = BinaryMap(width: 8, height: 8)
    for y in 0..<8 { for x in 0..<4 { map[x, y] = true } }
    return map
  }

  @Test func passesFollowThePaperInOrderWithItsConstants() async throws {
    let items = [
      Container.Item(name: "car", detail: "red car with chrome wheels", map: leftHalf()),
      Container.Item(name: "sign", detail: "no map, so no pass"),
      Container.Item(name: "lamp", detail: "tall street lamp glowing", map: BinaryMap(width: 8, height: 8, fill: true)),
    ]
    let bytes = try file(items: items)
    let restorer = RecordingRestorer()
    let result = try await MISCDecoder(restorer: restorer).decode(bytes)
    let passes = await restorer.passes
    #expect(passes.map(\.kind) == [.item(index: 0), .item(index: 2), .final])
    #expect(passes[0].prompt == "red car with chrome wheels" && passes[1].prompt == "tall street lamp glowing")
    #expect(passes[0].steps == 3 && passes[0].guidanceScale == 3.5 && !passes[0].colorFix)
    #expect(passes[2].prompt == "a quiet street at dusk, Hyper Detail, Masterpiece, 4K")
    #expect(passes[2].negativePrompt == "Blurry, Low Quality")
    #expect(passes[2].steps == 40 && passes[2].guidanceScale == 7 && passes[2].colorFix)
    let seed = Container.seed(of: bytes)
    #expect(passes.map(\.seed) == [DecodeSchedule.passSeed(fileSeed: seed, index: 0),
                                   DecodeSchedule.passSeed(fileSeed: seed, index: 2),
                                   DecodeSchedule.passSeed(fileSeed: seed, index: 3)])
    #expect(Set(passes.map(\.seed)).count == 3)
    // The first pass is conditioned on I_ref; the second on the blend of the first (eq. 7).
    let conditions = await restorer.conditions
    #expect(conditions[0] == result.reference)
    let blended = conditions[1]
    #expect(blended[0, 24, 0] == 50 && blended[0, 24, 2] == 0, "inside map 1 the item pass wins")
    #expect(blended[63, 24, 0] == result.reference[63, 24, 0], "outside map 1 the reference stays")
    // The full map of item 3 replaced everything before the final pass, whose output is returned.
    #expect(conditions[2][10, 10, 0] == 150)
    #expect(result.image[5, 5, 2] == 255)
  }

  @Test func featheredEdgesMixBothSides() async throws {
    let bytes = try file(items: [Container.Item(name: "car", detail: "red car", map: leftHalf())])
    let restorer = RecordingRestorer()
    var schedule = DecodeSchedule()
    schedule.featherCells = 0.5
    let result = try await MISCDecoder(restorer: restorer, schedule: schedule).decode(bytes)
    let blended = await restorer.conditions[1]
    let inside = 50, outside = Int(result.reference[32, 24, 0])
    let edge = Int(blended[32, 24, 0])
    #expect(edge > min(inside, outside) && edge < max(inside, outside), "the mask edge is soft: \(edge)")
    #expect(Int(blended[0, 24, 0]) == inside && Int(blended[63, 24, 0]) == outside)
  }

  @Test func seedOverrideChangesEveryPassSeed() async throws {
    let bytes = try file(items: [Container.Item(name: "car", detail: "red car", map: leftHalf())])
    let a = RecordingRestorer(), b = RecordingRestorer()
    _ = try await MISCDecoder(restorer: a).decode(bytes)
    _ = try await MISCDecoder(restorer: b).decode(bytes, seed: 7)
    let seedsA = await a.passes.map(\.seed), seedsB = await b.passes.map(\.seed)
    #expect(seedsB == [DecodeSchedule.passSeed(fileSeed: 7, index: 0), DecodeSchedule.passSeed(fileSeed: 7, index: 3)])
    #expect(seedsA != seedsB)
  }

  @Test func bicubicRestorerGivesTheReferenceExactly() async throws {
    let bytes = try file(items: [Container.Item(name: "car", detail: "red car", map: leftHalf())])
    let result = try await MISCDecoder().decode(bytes)
    #expect(result.image == result.reference)
    #expect(result.image.width == 64 && result.image.height == 48)
  }

  @Test func progressCanCancel() async throws {
    let bytes = try file(items: [])
    await #expect(throws: DecodeError.self) {
      _ = try await MISCDecoder().decode(bytes, progress: { _, _, _ in false })
    }
  }

  @Test func emptyOverviewUsesTheAestheticWordsAlone() {
    #expect(DecodeSchedule().finalPrompt(overview: "  ") == "Hyper Detail, Masterpiece, 4K")
  }

  @Test func blendIsExactAtTheExtremes() {
    let a = Image(width: 2, height: 1, fill: (200, 100, 0)), b = Image(width: 2, height: 1, fill: (0, 50, 250))
    let out = ItemMask.blend(a, over: b, mask: [255, 0])
    #expect(out[0, 0, 0] == 200 && out[1, 0, 0] == 0 && out[1, 0, 2] == 250)
  }
}
