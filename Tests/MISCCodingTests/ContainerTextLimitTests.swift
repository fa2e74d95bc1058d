import Testing
@testable import MISCCoding

/// `Container.decode(maxTextBytes:)`, the bound the fuzz target FuzzContainerBody passes
/// (Fuzz/README.md): a string of exactly the limit decodes, one byte more is refused with a
/// `ContainerError`, and the default is the format's own limit.
@Suite struct ContainerTextLimitTests {
  @Test func aStringAboveTheReadersLimitIsRefusedAndTheDefaultIsTheFormats() throws {
    let contents = fullContents()
    let bytes = try Container.encode(contents, thumbnailQuality: 3).bytes
    let longest = ([contents.overview] + contents.items.flatMap { [$0.name, $0.detail] }).map(\.utf8.count).max()!
    #expect(try Container.decode(bytes).contents == Container.decode(bytes, maxTextBytes: longest).contents)
    #expect(throws: ContainerError.self) { try Container.decode(bytes, maxTextBytes: longest - 1) }
    // Above the format's limit the reader's counts as the format's.
    #expect(try Container.decode(bytes, maxTextBytes: Int.max).contents.overview == contents.overview)
  }

  @Test func eachFormatVersionHonoursTheLimit() throws {
    for profile in FormatProfile.all {
      let contents = fullContents()
      let bytes = try Container.encode(contents, thumbnailQuality: 3, profile: profile).bytes
      let overview = contents.overview.utf8.count
      #expect(try Container.decode(bytes, maxTextBytes: overview).contents.overview == contents.overview)
      #expect(throws: ContainerError.self) { try Container.decode(bytes, maxTextBytes: overview - 1) }
    }
  }
}
