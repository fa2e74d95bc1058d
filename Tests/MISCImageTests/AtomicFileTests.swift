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

@Suite("writeFileAtomically: special files and links")
struct AtomicFileSpecialTests {
  @Test("an existing FIFO is written through and stays a FIFO")
  func fifo() throws {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    let fifo = directory + "/pipe"
    #expect(mkfifo(fifo, 0o600) == 0)
    let reader = Process()
    reader.executableURL = URL(fileURLWithPath: "/bin/cat")
    reader.arguments = [fifo]
    let pipe = Pipe()
    reader.standardOutput = pipe
    try reader.run()
    try writeFileAtomically([7, 8, 9], to: fifo)
    let received = pipe.fileHandleForReading.readDataToEndOfFile()
    reader.waitUntilExit()
    #expect(Array(received) == [7, 8, 9])
    var info = stat()
    #expect(stat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
    #expect(isSpecialFile(fifo) && !isSpecialFile(directory))
  }

  @Test("a symlink is followed, also when it dangles, and stays a link")
  func symlink() throws {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    try FileManager.default.createSymbolicLink(atPath: directory + "/link", withDestinationPath: "target")
    try writeFileAtomically([1], to: directory + "/link")
    #expect(try readFileBytes(directory + "/target") == [1])
    try writeFileAtomically([2, 3], to: directory + "/link")
    #expect(try readFileBytes(directory + "/target") == [2, 3])
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/link") == "target")
  }

  @Test("replacing: false never overwrites, and leaves no temporary file")
  func noClobber() throws {
    let directory = try TestSupport.makeTemporaryDirectory()
    defer { TestSupport.removeDirectory(directory) }
    let path = directory + "/kept"
    try writeFileAtomically([1], to: path, replacing: false)
    let error = try #require(throws: ImageIOError.self) { try writeFileAtomically([2], to: path, replacing: false) }
    #expect(error.description.contains(path) && error.description.contains("exists"))
    #expect(try readFileBytes(path) == [1])
    #expect(try TestSupport.contents(ofDirectory: directory) == ["kept"])
  }
}
