import Foundation
import Testing
@testable import MISC

/// The one reader of servers' error bodies: every shape the LMM servers and the diffusion worker
/// send, and bodies that are garbage, binary or huge.
@Suite struct ServerErrorBodyTests {
  func message(_ text: String) -> String? { ServerErrorBody.message(in: Data(text.utf8)) }

  @Test(arguments: [
    // OpenAI (and vLLM, llama.cpp server, LM Studio)
    (#"{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}"#,
     "Incorrect API key provided"),
    // The restorer protocol (docs/RESTORER-PROTOCOL.md)
    (#"{"error": {"message": "'steps' must be in 1...1000, got 0", "type": "invalid_request"}}"#, "'steps' must be in 1...1000, got 0"),
    // Ollama
    (#"{"error": "model \"llava\" not found, try pulling it first"}"#, #"model "llava" not found, try pulling it first"#),
    (#"{"message": "Too many requests"}"#, "Too many requests"),
    // FastAPI, both forms
    (#"{"detail": "Not Found"}"#, "Not Found"),
    (#"{"detail": [{"loc": ["body", "steps"], "msg": "field required", "type": "missing"}, {"msg": "extra field"}]}"#,
     "field required; extra field"),
  ])
  func jsonShapes(body: String, expected: String) {
    #expect(message(body) == expected)
  }

  @Test func plainTextIsFlattenedToOneLine() {
    #expect(message("upstream connect error\r\n  or disconnect/reset before headers.\n")
      == "upstream connect error or disconnect/reset before headers.")
    #expect(message("value must be < 10") == "value must be < 10", "a '<' does not make text HTML")
    #expect(message(#"{"code": 7, "reason": "quota"}"#) == #"{"code": 7, "reason": "quota"}"#, "JSON without a known field is quoted")
  }

  @Test func htmlPagesGiveTheirTitleOrNothing() {
    #expect(message("<html><head><title>502 Bad\n Gateway</title></head><body><center>nginx</center></body></html>") == "502 Bad Gateway")
    #expect(message("\n<!DOCTYPE html><html><body>error</body></html>") == nil)
  }

  @Test func emptyAndBinaryBodiesHaveNoMessage() {
    #expect(message("") == nil)
    #expect(message(" \n\t ") == nil)
    #expect(message("{}") == nil)
    #expect(message(#"{"error": {"message": "   "}}"#) == nil)
    #expect(ServerErrorBody.message(in: Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])) == nil, "a PNG")
    #expect(ServerErrorBody.message(in: Data([0xFF, 0xFE, 0xC3, 0x28, 0xA0, 0xA1, 0x80, 0x81])) == nil, "not UTF-8")
  }

  @Test func controlCharactersNeverReachTheTerminal() {
    #expect(message("\u{1B}[31mred\u{1B}[0m alert\u{7}") == "[31mred [0m alert")
    #expect(message(#"{"error": {"message": "line one\nline two\u0000"}}"#) == "line one line two")
  }

  @Test func hugeBodiesAreCutSanely() throws {
    let limit = ServerErrorBody.limit
    let text = try #require(message(String(repeating: "word ", count: 3_000_000)))
    #expect(text.count == limit && text.hasSuffix("…") && text.hasPrefix("word word"))

    let long = String(repeating: "x", count: 5000)
    let fromJSON = try #require(message(#"{"error": {"message": "\#(long)"}}"#))
    #expect(fromJSON == String(repeating: "x", count: limit - 1) + "…")
    #expect(message(String(repeating: "y", count: limit)) == String(repeating: "y", count: limit), "exactly the limit is kept whole")

    // Too big to parse as JSON: its start is quoted as text.
    let big = #"{"error": {"message": "slow down", "padding": ""# + String(repeating: "p", count: 1 << 20) + #""}}"#
    #expect(message(big)?.hasPrefix(#"{"error": {"message": "slow down", "padding": "ppp"#) == true)
  }

  @Test func aCharacterCutAtTheReadLimitIsNotBinary() throws {
    // "é" is two bytes; put its first byte last in the part that is read.
    let body = Data(String(repeating: "a", count: ServerErrorBody.maxTextBytes - 1).utf8) + Data("é and more".utf8)
    let text = try #require(ServerErrorBody.message(in: body))
    #expect(text.count == ServerErrorBody.limit && text.allSatisfy { $0 == "a" || $0 == "…" })
  }
}
