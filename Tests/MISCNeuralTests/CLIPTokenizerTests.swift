import Foundation
import MISCNeural
import Testing

@Suite struct CLIPTokenizerTests {
  static let tokenizer = Result { try CLIPTokenizer(directory: Fixtures.model) }

  struct Case: CustomTestStringConvertible, Sendable {
    var text: String
    var ids: [Int]
    var padded: [Int]
    var testDescription: String { text.debugDescription }
  }

  static let cases: [Case] = {
    guard let object = try? Fixtures.json("tokens.json"), let strings = object["strings"] as? [[String: Any]] else { return [] }
    return strings.map { Case(text: $0["text"] as! String, ids: $0["ids"] as! [Int], padded: $0["padded"] as! [Int]) }
  }()

  @Test func fixtureHasThirtyStrings() {
    #expect(Self.cases.count >= 30)
  }

  @Test(arguments: cases) func matchesHuggingFace(_ c: Case) throws {
    let tokenizer = try Self.tokenizer.get()
    #expect(tokenizer.encode(c.text) == c.ids)
    #expect(tokenizer.padded(c.text) == c.padded)
  }

  @Test func truncationKeepsTheEndToken() throws {
    let tokenizer = try Self.tokenizer.get()
    let ids = tokenizer.encode(String(repeating: "parrot ", count: 200))
    #expect(ids.count == 77 && ids.first == tokenizer.startID && ids.last == tokenizer.endID)
    #expect(tokenizer.padID == tokenizer.endID)  // HF's CLIP pads with <|endoftext|>
  }

  @Test func missingFilesAreClearErrors() {
    let nowhere = URL(fileURLWithPath: "/nonexistent/clip")
    #expect {
      try CLIPTokenizer(directory: nowhere)
    } throws: { error in
      "\(error)".contains("/nonexistent/clip/vocab.json")
    }
  }
}
