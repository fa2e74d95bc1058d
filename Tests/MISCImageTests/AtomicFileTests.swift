import Foundation
import Testing
import MISCImage

@Suite("writeFileAtomically")
struct AtomicFileTests {
  @Test("writes the bytes and leaves no temporary file")
  func success() throws {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    let path = directory + "/out.misc"
    try writeFileAtomically([1, 2, 3], to: path)
    #expect(try readFileBytes(path) == [1, 2, 3])
    try writeFileAtomically(Array(repeating: 9, count: 100_000), to: path)  // replaces
    #expect(try readFileBytes(path) == Array(repeating: 9, count: 100_000))
    try writeFileAtomically([], to: directory + "/empty")
    #expect(try TestSupport.contents(ofDirectory: directory) == ["empty", "out.misc"])
  }

  @Test("a missing directory fails, naming the path, and creates nothing")
  func missingDirectory() throws {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    let path = directory + "/missing/out.png"
    let error = try #require(throws: ImageIOError.self) {
      try ImageIO.writePNG(TestSupport.gradientImage(width: 4, height: 4), to: path)
    }
    guard case let .unwritable(errorPath, reason) = error else { Issue.record("got \(error)"); return }
    #expect(errorPath == path && reason.contains("No such file"))
    #expect(error.description.contains(path))
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(try TestSupport.contents(ofDirectory: directory).isEmpty)
  }

  @Test("a failed rename removes the temporary file and keeps the destination")
  func renameFailure() throws {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    let path = directory + "/taken"
    try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
    let error = try #require(throws: ImageIOError.self) { try writeFileAtomically([1, 2], to: path) }
    guard case .unwritable(path, _) = error else { Issue.record("got \(error)"); return }
    #expect(try TestSupport.contents(ofDirectory: directory) == ["taken"])
    #expect(try TestSupport.contents(ofDirectory: path) == ["inside"])
  }
}
