import Foundation
import Testing
@testable import MISC
import MISCCoding

@Suite struct DescriberParsingTests {
  let repair = SemanticsRepair(overviewWords: 50)

  func parse(_ text: String, words: Int = 50) -> Semantics {
    SemanticsRepair(overviewWords: words).repair(LMMAnswerParser.parse(text))
  }

  @Test func schemaJSON() {
    let s = parse(FakeLMM.schemaAnswer)
    #expect(s.items.map(\.name) == ["astronaut", "Earth", "space station"])
    #expect(s.overview.hasSuffix("the black sky behind."))
  }

  @Test func paperLineFormat() {
    let s = parse("""
      Woman, Red umbrella, Wet street.
      A young woman in a beige trench coat.
      Bright red umbrella held above her head.
      Cobblestones glistening with rain and reflections.

      A woman walks down a rainy city street under a red umbrella, \
      shop windows glowing in the dusk.
      """)
    #expect(s.items.map(\.name) == ["Woman", "Red umbrella", "Wet street"])
    #expect(s.items.map(\.detail) == ["A young woman in a beige trench coat.", "Bright red umbrella held above her head.",
                                      "Cobblestones glistening with rain and reflections."])
    #expect(s.overview.hasPrefix("A woman walks") && s.overview.hasSuffix("dusk."))
  }

  @Test func labelledNumberedAndBulletedSections() {
    let s = parse("""
      Sure! Here is the information:

      1. **Striking Objects:** Dog, Frisbee, and Park bench.
      2. **Detailed Description:**
         - Dog: a golden retriever leaping mid-air with its tongue out.
         - Frisbee: a bright orange disc spinning.
         - Park bench: weathered green wooden bench.
      3. **Overall Description:** A golden retriever leaps to catch an orange frisbee in a sunny park.
      """)
    #expect(s.items.map(\.name) == ["Dog", "Frisbee", "Park bench"])
    #expect(s.items[0].detail == "a golden retriever leaping mid-air with its tongue out.")
    #expect(s.overview == "A golden retriever leaps to catch an orange frisbee in a sunny park.")
  }

  @Test func markdownFencedJSON() {
    let s = parse("""
      Here you go:
      ```json
      {"items": [{"name": "cat", "detail": "grey tabby asleep"}], "overview": "A cat sleeps on a sofa."}
      ```
      """)
    #expect(s.items == [Semantics.Item(name: "cat", detail: "grey tabby asleep")])
    #expect(s.overview == "A cat sleeps on a sofa.")
  }

  @Test func jsonInAPlainAnswerWithOtherKeys() {
    let s = parse(#"{"Striking Objects": ["boat", "lighthouse"], "Overall Description": "A boat passes a lighthouse."}"#)
    #expect(s.items.map(\.name) == ["boat", "lighthouse"])
    #expect(s.items[0].detail == "boat", "a missing detail falls back to the name")
    #expect(s.overview == "A boat passes a lighthouse.")
  }

  @Test func underLongAnswerIsKept() {
    let s = parse("Mountain.\nSnowy peak at sunrise.\n\nA mountain.")
    #expect(s.items == [Semantics.Item(name: "Mountain", detail: "Snowy peak at sunrise.")])
    #expect(s.overview == "A mountain.")
    #expect(parse("A quiet beach at dawn with gentle waves and pale pink sky.").overview.hasPrefix("A quiet beach"))
  }

  @Test func overLongNamesDetailsAndItems() {
    let raw = Semantics(overview: "", items: [
      .init(name: "  the  tall\n old lighthouse ", detail: "one two three four five six seven eight nine ten eleven twelve"),
      .init(name: "THE TALL OLD", detail: "duplicate by name, ignoring case"),
      .init(name: "", detail: ""),
      .init(name: "boat", detail: "small"),
      .init(name: "gull", detail: "white"),
      .init(name: "rock", detail: "grey"),
    ])
    let s = repair.repair(raw)
    #expect(s.items.map(\.name) == ["the tall old", "boat", "gull"])
    #expect(s.items[0].detail == "one two three four five six seven eight nine ten")
  }

  @Test func overviewTrimmedAtASentenceBoundary() {
    let first = (1...30).map { "a\($0)" }.joined(separator: " ") + "."
    let second = (1...30).map { "b\($0)" }.joined(separator: " ") + "."
    #expect(repair.repair(Semantics(overview: first + " " + second)).overview == first)
  }

  @Test func overviewWithoutAUsableSentenceIsCutAtAWord() {
    let text = "Short one. " + (1...80).map { "word\($0)" }.joined(separator: " ") + "."
    let s = SemanticsRepair(overviewWords: 20).repair(Semantics(overview: text))
    let words = s.overview.split(separator: " ")
    #expect(words.count == 20 && s.overview.hasSuffix("word18."))
    #expect(words.allSatisfy { $0.hasPrefix("word") || $0 == "Short" || $0 == "one." })
  }

  @Test func refusalsAndEmptyAnswers() {
    #expect(LMMAnswerParser.isRefusal("I'm sorry, I can't help with that."))
    #expect(LMMAnswerParser.isRefusal("I’m unable to describe people in images."))
    #expect(!LMMAnswerParser.isRefusal("A dog runs on the beach."))
    #expect(!SemanticsRepair.isUsable(parse("")))
    #expect(!SemanticsRepair.isUsable(parse("   \n\n  ")))
    #expect(!SemanticsRepair.isUsable(parse("```\n```")))
  }

  @Test func thinkingIsStripped() {
    #expect(OpenAIDescriber.stripThinking("<think>hmm</think>\nA, B.") == "\nA, B.")
  }

  // MARK: - Configuration

  @Test func endpointRule() {
    func endpoint(_ base: String) -> String? { OpenAIDescriber.Configuration(model: "m", baseURL: base).endpoint?.absoluteString }
    #expect(endpoint("https://api.openai.com/v1") == "https://api.openai.com/v1/chat/completions")
    #expect(endpoint("http://localhost:11434") == "http://localhost:11434/v1/chat/completions")
    #expect(endpoint("http://localhost:11434/") == "http://localhost:11434/v1/chat/completions")
    #expect(endpoint("http://localhost:8080/v1/") == "http://localhost:8080/v1/chat/completions")
    #expect(endpoint("https://example.com/openai/v1") == "https://example.com/openai/v1/chat/completions")
    #expect(endpoint("http://h:1/v1/chat/completions") == "http://h:1/v1/chat/completions")
    #expect(endpoint("localhost:11434") == nil && endpoint("ftp://x/v1") == nil)
  }

  @Test func flagsThenEnvironment() {
    let env = ["MISC_LMM_URL": "http://env:1/v1", "MISC_LMM_MODEL": "env-model", "OPENAI_API_KEY": "sk-openai"]
    let fromEnv = OpenAIDescriber.Configuration.resolve(url: nil, model: nil, apiKey: nil, environment: env)
    #expect(fromEnv?.model == "env-model" && fromEnv?.baseURL == "http://env:1/v1" && fromEnv?.apiKey == "sk-openai")
    let flags = OpenAIDescriber.Configuration.resolve(url: "http://flag:2", model: "flag-model", apiKey: "sk-flag",
                                                      environment: env.merging(["MISC_LMM_API_KEY": "sk-misc"]) { $1 })
    #expect(flags?.model == "flag-model" && flags?.baseURL == "http://flag:2" && flags?.apiKey == "sk-flag")
    let misc = OpenAIDescriber.Configuration.resolve(url: nil, model: nil, apiKey: nil, environment: env.merging(["MISC_LMM_API_KEY": "sk-misc"]) { $1 })
    #expect(misc?.apiKey == "sk-misc")
    #expect(OpenAIDescriber.Configuration.resolve(url: "http://x", model: nil, apiKey: nil, environment: [:]) == nil)
    let openAI = OpenAIDescriber.Configuration.resolve(url: nil, model: "gpt-4o", apiKey: nil, environment: [:])
    #expect(openAI?.baseURL == "https://api.openai.com/v1" && openAI?.apiKey == nil)
    #expect(!"\(openAI!)".contains("sk-"))
    let secret = OpenAIDescriber.Configuration(model: "m", apiKey: "sk-secret")
    #expect(!"\(secret)".contains("sk-secret") && !String(reflecting: secret).contains("sk-secret"))
  }

  @Test func cacheDirectoryDefaults() {
    #expect(OpenAIDescriber.Configuration.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"]) == "/c/misc/describe")
    #expect(OpenAIDescriber.Configuration.defaultCacheDirectory(environment: ["HOME": "/h"]) == "/h/.cache/misc/describe")
  }

  // MARK: - SHA-256 (FIPS 180-4 examples)

  @Test(arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
  ])
  func sha256Vectors(message: String, digest: String) {
    #expect(SHA256.hex(SHA256.hash(Array(message.utf8))) == digest)
  }

  @Test func sha256MillionAsInPieces() {
    var hasher = SHA256()
    let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
    for i in 0..<1000 {
      if i % 2 == 0 { hasher.update(chunk) } else { hasher.update(chunk[...]) }  // both paths
    }
    #expect(SHA256.hex(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    var odd = SHA256()
    for byte in Array("abc".utf8) { odd.update([byte]) }
    #expect(SHA256.hex(odd.finalize()) == SHA256.hex(SHA256.hash(Array("abc".utf8))))
  }
}
