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
