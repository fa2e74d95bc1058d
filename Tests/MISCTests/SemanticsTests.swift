import Foundation
import MISCCoding
import Testing
@testable import MISC

@Suite struct SemanticsTests {
  func load(_ json: String) throws -> Semantics {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("semantics-\(UUID().uuidString).json")
    try Data(json.utf8).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    return try Semantics.load(path: url.path)
  }

  @Test func mapsAsStringRowsArraysAndBoxes() throws {
    let s = try load("""
      {"overview": "a cat on a mat",
       "items": [
         {"name": "cat", "detail": "grey cat", "map": ["11000000","11000000","00000000","00000000","00000000","00000000","00000000","00000000"]},
         {"name": "mat", "detail": "red mat", "map": [[1,1,1,1,1,1,1,1],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,1]]},
         {"name": "window", "detail": "bright window", "box": [0.5, 0.0, 1.0, 0.5], "grid": 10}
       ]}
      """)
    #expect(s.overview == "a cat on a mat")
    #expect(s.items.count == 3)
    #expect(s.items[0].map?.setCount == 4 && s.items[0].map?[1, 1] == true)
    #expect(s.items[1].map?[7, 7] == true && s.items[1].map?.setCount == 9)
    let window = try #require(s.items[2].map)
    #expect(window.width == 10 && window.height == 10)
    #expect(window.setCount == 25 && window[5, 0] && window[9, 4] && !window[4, 0] && !window[5, 5])
  }

  @Test func tinyBoxSetsTheCellAtItsCentre() throws {
    let map = try Semantics.rasterize(box: [0.51, 0.51, 0.52, 0.52], grid: (8, 8), index: 0)
    #expect(map.setCount == 1 && map[4, 4])
  }

  @Test func itemsWithoutMapsAndMissingFields() throws {
    let s = try load(#"{"items": [{"name": "dog", "detail": "brown dog"}]}"#)
    #expect(s.overview.isEmpty && s.items.first?.map == nil)
  }

  @Test func jsonRoundTrip() throws {
    let s = try load(#"{"overview": "x", "items": [{"name": "a", "detail": "b", "box": [0, 0, 1, 1]}]}"#)
    let again = try JSONDecoder().decode(Semantics.self, from: try s.jsonData())
    #expect(again == s)
  }

  @Test(arguments: [
    (#"{"items": [{"name": "a", "detail": "b", "map": ["0120"]}]}"#, "item 1"),
    (#"{"items": [{"name": "a", "detail": "b", "map": ["0101"]}]}"#, "outside"),
    (#"{"items": [{"name": "a", "detail": "b", "map": ["00000000", "0"]}]}"#, "differ in length"),
    (#"{"items": [{"name": "a", "detail": "b", "box": [0.5, 0.1, 0.2, 0.9]}]}"#, "x0 < x1"),
    (#"{"items": [{"name": "a", "detail": "b", "box": [0, 0, 1, 1], "grid": 30}]}"#, "grid"),
    (#"{"overview": 3}"#, "wrong type"),
    (#"{"overview": "#, "not valid JSON"),
    (#"{"items": [{}, {}, {}, {}]}"#, "at most 3"),
  ])
  func badFilesNameTheProblem(json: String, expected: String) throws {
    do {
      _ = try load(json)
      Issue.record("accepted \(json)")
    } catch let error as SemanticsError {
      #expect(error.description.contains(expected), "\(error)")
      #expect(error.description.contains(".json"), "the error names the file: \(error)")
    }
  }

  @Test func missingFileIsAClearError() {
    #expect(throws: SemanticsError.self) { try Semantics.load(path: "/nonexistent/semantics.json") }
  }
}

/// Semantics files a user wrote by hand, or a fuzzer wrote: bounded, and precise about errors.
@Suite struct SemanticsFileTests {
  func parseError(_ json: String) -> String {
    do {
      _ = try Semantics.parse(Array(json.utf8))
      return "accepted"
    } catch {
      return "\(error)"
    }
  }

  @Test func syntaxErrorsGiveLineAndColumn() {
    #expect(parseError("{\n  \"overview\": \"a\",\n  x\n}").contains("line 3, column 3"))
    #expect(parseError("{\"overview\": \"a\" \"items\": []}").contains("line 1, column 18"))
    #expect(parseError("{\"overview\": \"é\n\"}").contains("line 1, column 16"))
    #expect(parseError("[1, 2,]").contains("unexpected ']'"))
    #expect(parseError("{\"overview\": \"a\"} x").contains("after the JSON value"))
    #expect(parseError("{\"overview\": \"a\"}") == "accepted")
  }

  @Test func typeErrorsGiveLineAndColumnToo() {
    #expect(parseError("{\n  \"overview\": 3\n}").contains("line 2, column 15"))
    let item = "{\"items\": [\n  {\"name\": \"a\"},\n  {\"name\": \"b\", \"detail\": [1]}\n]}"
    let message = parseError(item)
    #expect(message.contains("line 3, column 27") && message.contains("items[1].detail"), "\(message)")
  }

  @Test func deepNestingIsNamed() {
    let deep = String(repeating: "[", count: 100_000)
    let message = parseError(deep)
    #expect(message.contains("nested too deeply") && !message.contains("not valid JSON"), "\(message)")
    #expect(parseError("{\"items\": [{\"name\": \"a\", \"map\": [[0, 1]]}]}").contains("nested") == false)
  }

  @Test func itemsPastTheLimitStopTheRead() {
    let many = "{\"items\": [" + Array(repeating: "{\"name\": \"a\"}", count: 200_000).joined(separator: ",") + "]}"
    #expect(parseError(many).contains("more than 3 items"))
  }

  @Test func largeFilesAreRefusedUnread() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("big-\(UUID().uuidString).json").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data(("{\"overview\": \"" + String(repeating: "a ", count: Semantics.maxFileBytes) + "\"}").utf8).write(to: URL(fileURLWithPath: path))
    let error = try #require(throws: SemanticsError.self) { try Semantics.load(path: path) }
    #expect(error.description.contains(path) && error.description.contains("limit"), "\(error)")
  }

  @Test func unknownKeysAndLongTextsAreWarnings() throws {
    let json = #"{"overveiw": "x", "items": [{"name": "a very big red dog", "detial": "b", "detail": "one two three four five six seven eight nine ten eleven"}]}"#
    let (semantics, warnings) = try Semantics.parse(Array(json.utf8))
    #expect(warnings.contains { $0.contains("\"overveiw\"") && $0.contains("did you mean \"overview\"") })
    #expect(warnings.contains { $0.contains("\"detial\" in item 1") && $0.contains("\"detail\"") })
    let lengths = semantics.lengthWarnings()
    #expect(lengths.contains { $0.contains("name has 5 words") } && lengths.contains { $0.contains("detail has 11 words") })
  }

  @Test func unreadableFileIsNotARawFoundationError() {
    let error = parseErrorOfLoad("/nonexistent/semantics.json")
    #expect(error.contains("/nonexistent/semantics.json") && error.contains("No such file") && !error.contains("NSCocoaErrorDomain"), "\(error)")
  }

  func parseErrorOfLoad(_ path: String) -> String {
    do { _ = try Semantics.load(path: path); return "accepted" } catch { return "\(error)" }
  }
}

@Suite struct DecodeMemoryTests {
  @Test func aDecodeThatCannotFitIsRefusedBeforeAllocating() async throws {
    let contents = Container.Contents(width: 3000, height: 2000, level: 0)
    let bytes = try Container.encode(contents, thumbnailQuality: 10).bytes
    var decoder = MISCDecoder()
    decoder.minBitsPerPixel = 0
    decoder.memoryLimit = 10 << 20
    do {
      _ = try await decoder.decode(bytes)
      Issue.record("decoded a 6 MP image in 10 MiB")
    } catch let error as DecodeError {
      #expect("\(error)".contains("3000x2000") && "\(error)".contains("MiB"), "\(error)")
    }
    decoder.memoryLimit = 1 << 30
    #expect(try await decoder.decode(bytes).image.width == 3000)
  }
}
