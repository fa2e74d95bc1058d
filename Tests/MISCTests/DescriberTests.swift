import FlyingFox
import Foundation
import MISCImage
import Testing
@testable import MISC

@Suite struct DescriberTests {
  static let key = "sk-test-0123456789abcdef"

  @Test func requestShapeAndSchemaAnswer() async throws {
    let fake = try await FakeLMM { _, _ in FakeLMM.completion(FakeLMM.schemaAnswer) }
    defer { Task { await fake.stop() } }
    // A base URL without a path gets /v1.
    var configuration = OpenAIDescriber.Configuration(model: "test-vision", baseURL: "http://127.0.0.1:\(fake.port)", apiKey: Self.key)
    configuration.seed = 7
    let semantics = try await OpenAIDescriber(configuration: configuration).describe(testImage(width: 1000, height: 500))

    #expect(semantics.items.map(\.name) == ["astronaut", "Earth", "space station"])
    #expect(semantics.items[0].detail == "white spacesuit, reflective gold visor, floating")
    #expect(semantics.overview.hasPrefix("An astronaut in a white suit"))

    let request = try #require(fake.requests.first)
    #expect(fake.count == 1)
    #expect(request.method == "POST" && request.path == "/v1/chat/completions")
    #expect(request.headers["authorization"] == "Bearer \(Self.key)")
    #expect(request.headers["content-type"] == "application/json")
    let body = request.json
    #expect(body["model"] as? String == "test-vision")
    #expect(body["temperature"] as? Int == 0 && body["seed"] as? Int == 7)
    let format = try #require(body["response_format"] as? [String: Any])
    #expect(format["type"] as? String == "json_schema")
    let schema = try #require(format["json_schema"] as? [String: Any])
    #expect(schema["name"] as? String == "image_semantics" && schema["strict"] as? Bool == true)
    #expect(((schema["schema"] as? [String: Any])?["required"] as? [String]) == ["items", "overview"])

    let messages = try #require(body["messages"] as? [[String: Any]])
    #expect(messages.count == 1 && messages[0]["role"] as? String == "user")
    let parts = try #require(messages[0]["content"] as? [[String: Any]])
    #expect(parts.map { $0["type"] as? String } == ["text", "image_url"])
    #expect((parts[0]["text"] as? String)?.contains("three most striking objects") == true)
    let url = try #require((parts[1]["image_url"] as? [String: Any])?["url"] as? String)
    let prefix = "data:image/jpeg;base64,"
    #expect(url.hasPrefix(prefix))
    let jpeg = try #require(Data(base64Encoded: String(url.dropFirst(prefix.count))))
    let sent = try ImageIO.decode(Array(jpeg), name: "sent").image
    #expect(sent.width == 768 && sent.height == 384)

    if let directory = ProcessInfo.processInfo.environment["MISC_TRANSCRIPT_DIR"] {
      let redacted = String(decoding: request.body, as: UTF8.self).replacingOccurrences(of: url, with: String(url.prefix(60)) + "…")
      try Data(redacted.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent("request.json"))
      let response = try await FakeLMM.completion(FakeLMM.schemaAnswer).bodyData
      try response.write(to: URL(fileURLWithPath: directory).appendingPathComponent("response.json"))
      let headers = request.headers.map { "\($0.key): \($0.key == "authorization" ? "Bearer sk-…(redacted)" : $0.value)" }.sorted()
      try Data(("POST \(request.path)\n" + headers.joined(separator: "\n")).utf8)
        .write(to: URL(fileURLWithPath: directory).appendingPathComponent("headers.txt"))
    }
  }

  @Test func smallImagesAreNotUpscaledAndNoKeySendsNoHeader() async throws {
    let fake = try await FakeLMM { _, _ in FakeLMM.completion(FakeLMM.schemaAnswer) }
    defer { Task { await fake.stop() } }
    _ = try await describer(fake, key: nil).describe(testImage(width: 300, height: 200))
    let request = try #require(fake.requests.first)
    #expect(request.headers["authorization"] == nil)
    let parts = try #require(((request.json["messages"] as? [[String: Any]])?.first?["content"]) as? [[String: Any]])
    let url = try #require((parts[1]["image_url"] as? [String: Any])?["url"] as? String)
    let jpeg = try #require(Data(base64Encoded: String(url.dropFirst("data:image/jpeg;base64,".count))))
    let sent = try ImageIO.decode(Array(jpeg), name: "sent").image
    #expect(sent.width == 300 && sent.height == 200)
  }

  @Test func overLongAnswerIsRepaired() async throws {
    let long = (1...30).map { "word\($0)" }.joined(separator: " ")
    let answer = """
      {"items": [{"name": "a very large red barn", "detail": "\(long)"}, {"name": "A Very  LARGE", "detail": "duplicate"},
      {"name": "", "detail": ""}, {"name": "tree", "detail": "oak"}, {"name": "sky", "detail": "blue"}, {"name": "dog", "detail": "small"}],
      "overview": "The first sentence has exactly eight words here. \(long) \(long). Tail."}
      """
    let fake = try await FakeLMM { _, _ in FakeLMM.completion(answer) }
    defer { Task { await fake.stop() } }
    let s = try await describer(fake).describe(testImage(width: 64, height: 48))
    #expect(s.items.map(\.name) == ["a very large", "tree", "sky"])
    #expect(s.items[0].detail.split(separator: " ").count == 10)
    #expect(s.overview.split(separator: " ").count <= 50)
    #expect(s.overview.hasSuffix(".") && s.overview.hasPrefix("The first sentence"))
  }

  @Test func refusalIsRetriedOnceThenQuoted() async throws {
    let refusal = "I'm sorry, but I can't help with that request. " + String(repeating: "x", count: 300)
    let fake = try await FakeLMM { _, _ in FakeLMM.completion(refusal) }
    defer { Task { await fake.stop() } }
    do {
      _ = try await describer(fake).describe(testImage(width: 64, height: 48))
      Issue.record("a refusal must fail")
    } catch let error as DescriberError {
      #expect(fake.count == 2, "one corrective retry")
      #expect(error.description.contains("refusal") && error.description.contains("I'm sorry, but I can't"))
      #expect(error.description.contains(String(refusal.prefix(200))) && !error.description.contains(String(refusal.prefix(201))))
    }
    // The corrective request carries the conversation and a follow-up.
    let messages = try #require(fake.requests.last?.json["messages"] as? [[String: Any]])
    #expect(messages.map { $0["role"] as? String } == ["user", "assistant", "user"])
    #expect((messages[2]["content"] as? String)?.contains("could not be used") == true)
  }

  @Test func emptyContentThenGoodAnswer() async throws {
    let fake = try await FakeLMM { n, _ in n == 0 ? FakeLMM.completion(nil) : FakeLMM.completion(FakeLMM.schemaAnswer) }
    defer { Task { await fake.stop() } }
    let s = try await describer(fake).describe(testImage(width: 64, height: 48))
    #expect(s.items.count == 3 && fake.count == 2)
  }

  @Test func emptyContentTwiceIsAnError() async throws {
    let fake = try await FakeLMM { _, _ in FakeLMM.completion("  \n") }
    defer { Task { await fake.stop() } }
    await #expect(throws: DescriberError.self) { try await describer(fake).describe(testImage(width: 64, height: 48)) }
    #expect(fake.count == 2)
  }

  @Test func structuredRefusalField() async throws {
    let fake = try await FakeLMM { _, _ in FakeLMM.completion(nil, refusal: "I can't describe this image.") }
    defer { Task { await fake.stop() } }
    do {
      _ = try await describer(fake).describe(testImage(width: 64, height: 48))
      Issue.record("must fail")
    } catch {
      #expect("\(error)".contains("I can't describe this image."))
    }
  }

  // MARK: - Retries

  @Test func tooManyRequestsHonoursRetryAfter() async throws {
    let fake = try await FakeLMM { n, _ in
      n == 0 ? FakeLMM.error(429, "Rate limit reached", type: "requests", code: "rate_limit_exceeded", headers: ["Retry-After": "1"])
        : FakeLMM.completion(FakeLMM.schemaAnswer)
    }
    defer { Task { await fake.stop() } }
    let sleeps = SleepRecorder()
    _ = try await describer(fake, sleep: sleeps).describe(testImage(width: 64, height: 48))
    #expect(fake.count == 2 && sleeps.delays == [1])
  }

  @Test func serviceUnavailableThreeTimesThenSuccess() async throws {
    let fake = try await FakeLMM { n, _ in
      n < 3 ? FakeLMM.error(503, "The server is overloaded", type: "server_error") : FakeLMM.completion(FakeLMM.schemaAnswer)
    }
    defer { Task { await fake.stop() } }
    let sleeps = SleepRecorder()
    let log = LogRecorder()
    let s = try await describer(fake, sleep: sleeps, log: log).describe(testImage(width: 64, height: 48))
    #expect(s.items.count == 3 && fake.count == 4)
    let delays = sleeps.delays
    #expect(delays.count == 3)
    for (index, delay) in delays.enumerated() {
      let full = pow(2, Double(index))  // base 1 s, doubled each retry; jitter keeps 50...100 %
      #expect(delay >= full / 2 && delay <= full, "retry \(index + 1) waited \(delay) s")
    }
    #expect(log.lines.count == 3 && log.lines[0].contains("HTTP 503"))
  }

  @Test func serverErrorsExhaustTheAttempts() async throws {
    let fake = try await FakeLMM { _, _ in FakeLMM.error(500, "internal failure", type: "server_error") }
    defer { Task { await fake.stop() } }
    do {
      _ = try await describer(fake, attempts: 3).describe(testImage(width: 64, height: 48))
      Issue.record("must fail")
    } catch let error as DescriberError {
      #expect(fake.count == 3)
      #expect(error.description == "\(fake.baseURL)/chat/completions answered HTTP 500 (after 3 attempts): internal failure")
    }
  }

  @Test(arguments: [
    (401, "Incorrect API key provided", "the API key was rejected (401) by"),
    (403, "You do not have access to this model", "access to model 'test-vision' was denied (403)"),
    (404, "The model `test-vision` does not exist", "model 'test-vision' not found at"),
    (400, "Invalid value for 'messages'", "the request was refused (400)"),
  ])
  func clientErrorsAreNotRetried(status: Int, message: String, expected: String) async throws {
    // The server echoes the key, as some do; it must not reach the message.
    let fake = try await FakeLMM { _, request in
      FakeLMM.error(status, "\(message): \(request.headers["authorization"] ?? "")", code: "invalid_api_key")
    }
    defer { Task { await fake.stop() } }
    let sleeps = SleepRecorder()
    let log = LogRecorder()
    do {
      _ = try await describer(fake, sleep: sleeps, log: log).describe(testImage(width: 64, height: 48))
      Issue.record("must fail")
    } catch let error as DescriberError {
      #expect(fake.count == 1 && sleeps.delays.isEmpty)
      let text = error.description
      #expect(text.contains(expected) && text.contains(message) && text.contains("127.0.0.1"), "\(text)")
      #expect(!text.contains(Self.key) && !"\(error)".contains(Self.key) && !String(reflecting: error).contains(Self.key))
      #expect(!log.lines.joined().contains(Self.key))
    }
  }

  @Test func timeoutIsRetriedThenReported() async throws {
    let fake = try await FakeLMM { _, _ in
      try await Task.sleep(nanoseconds: 3_000_000_000)
      return FakeLMM.completion(FakeLMM.schemaAnswer)
    }
    defer { Task { await fake.stop() } }
    let sleeps = SleepRecorder()
    let start = Date()
    do {
      _ = try await describer(fake, timeout: 0.5, attempts: 2, sleep: sleeps).describe(testImage(width: 64, height: 48))
      Issue.record("must time out")
    } catch let error as DescriberError {
      guard case .timedOut(_, 2, 0.5) = error else { Issue.record("\(error)"); return }
      #expect(error.description.contains("did not answer within 0.5 s (after 2 attempts)"))
    }
    #expect(sleeps.delays.count == 1)
    let elapsed = Date().timeIntervalSince(start)
    #expect(elapsed >= 0.9 && elapsed < 2.5, "two attempts of 0.5 s took \(elapsed) s")
  }

  @Test func connectionRefusedIsRetriedThenReported() async throws {
    let port = try await FakeLMM.closedPort()
    var configuration = OpenAIDescriber.Configuration(model: "m", baseURL: "http://127.0.0.1:\(port)/v1", apiKey: Self.key)
    configuration.maxAttempts = 3
    let sleeps = SleepRecorder()
    do {
      _ = try await OpenAIDescriber(configuration: configuration, sleep: sleeps.sleep).describe(testImage(width: 64, height: 48))
      Issue.record("must fail")
    } catch let error as DescriberError {
      guard case .unreachable(_, 3, _) = error else { Issue.record("\(error)"); return }
      #expect(error.description.contains("cannot reach the LMM at http://127.0.0.1:\(port)/v1/chat/completions (after 3 attempts)"))
      #expect(!error.description.contains(Self.key))
    }
    #expect(sleeps.delays.count == 2)
  }

  // MARK: - Fallback and cache

  @Test func jsonSchemaRejectedFallsBackToLineFormatAndRemembers() async throws {
    let lines = """
      Astronaut, Earth, Space station.
      White spacesuit with a gold visor, floating.
      Blue planet with swirling white clouds.
      Metal truss and wide solar panels.

      An astronaut floats above the blue Earth next to a space station.
      """
    let fake = try await FakeLMM { _, request in
      if request.json["response_format"] != nil {
        return FakeLMM.error(400, "response_format of type json_schema is not supported by this model", code: "invalid_request")
      }
      return FakeLMM.completion(lines)
    }
    defer { Task { await fake.stop() } }
    let log = LogRecorder()
    let d = try describer(fake, log: log)
    let s = try await d.describe(testImage(width: 64, height: 48))
    #expect(s.items.map(\.name) == ["Astronaut", "Earth", "Space station"])
    #expect(s.items[2].detail == "Metal truss and wide solar panels.")
    #expect(s.overview == "An astronaut floats above the blue Earth next to a space station.")
    #expect(fake.count == 2)
    let plain = fake.requests[1].json
    #expect(plain["response_format"] == nil && plain["temperature"] as? Int == 0)
    #expect(log.lines.contains { $0.contains("json_schema") })

    _ = try await d.describe(testImage(width: 64, height: 48, seed: 1))
    #expect(fake.count == 3, "the second image skips the rejected attempt")
    #expect(fake.requests[2].json["response_format"] == nil)
  }

  @Test func cacheAnswersWithoutARequest() async throws {
    let fake = try await FakeLMM { _, _ in FakeLMM.completion(FakeLMM.schemaAnswer) }
    defer { Task { await fake.stop() } }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("misc-describe-cache-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let image = testImage(width: 200, height: 100)
    let first = try await describer(fake, cache: directory).describe(image)
    let second = try await describer(fake, cache: directory).describe(image)
    #expect(first == second && fake.count == 1)
    let files = try FileManager.default.contentsOfDirectory(atPath: directory)
    #expect(files.count == 1 && files[0].hasSuffix(".json") && files[0].count == 64 + 5)
    let stored = try String(contentsOfFile: directory + "/" + files[0], encoding: .utf8)
    #expect(!stored.contains(Self.key) && stored.contains("astronaut"))

    // Another model, or no cache, asks again.
    _ = try await describer(fake, model: "other", cache: directory).describe(image)
    _ = try await describer(fake, cache: nil).describe(image)
    #expect(fake.count == 3)
  }

  @Test func batchOfTwentyWithInjectedFailures() async throws {
    // Most requests fail the first time, in turn with 503, 429, 502 and a refusal; all must end
    // written, with no partial files.
    let failing = FailFirst()
    let wrapped = try await FakeLMM { n, request in
      try await Task.sleep(nanoseconds: 10_000_000)
      if failing.shouldFail(request) {
        let firstTurn = (request.json["messages"] as? [Any])?.count == 1
        switch n % 4 {
        case 0: return FakeLMM.error(503, "overloaded", type: "server_error")
        case 1: return FakeLMM.error(429, "slow down", headers: ["Retry-After": "0"])
        case 2: return FakeLMM.error(502, "bad gateway", type: "server_error")
        default: return firstTurn ? FakeLMM.completion("I'm sorry, I can't help with that.") : FakeLMM.error(503, "overloaded")
        }
      }
      return FakeLMM.completion(FakeLMM.schemaAnswer)
    }
    defer { Task { await wrapped.stop() } }
    let d = try describer(wrapped, sleep: SleepRecorder())
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("misc-describe-batch-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }

    let jobs = 4
    let images = (0..<20).map { testImage(width: 96, height: 64, seed: $0) }
    let failures = await withTaskGroup(of: String?.self) { group in
      var next = 0
      var failures: [String] = []
      func launch() {
        let index = next
        next += 1
        group.addTask {
          do {
            let s = try await d.describe(images[index])
            try writeFileAtomically(Array(try s.jsonData()), to: directory.appendingPathComponent("\(index).json").path)
            return nil
          } catch {
            return "\(index): \(error)"
          }
        }
      }
      while next < jobs { launch() }
      while let result = await group.next() {
        if let result { failures.append(result) }
        if next < images.count { launch() }
      }
      return failures
    }
    #expect(failures.isEmpty, "\(failures)")
    let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    #expect(files == (0..<20).map { "\($0).json" }.sorted(), "every output written, no temporary files")
    for file in files {
      let s = try Semantics.load(path: directory.appendingPathComponent(file).path)
      #expect(s.items.count == 3)
    }
    #expect(wrapped.peakConcurrency <= jobs)
    #expect(wrapped.count > 20)
  }
}

/// Fails the first request of every third image (recognised by its image bytes).
private final class FailFirst: @unchecked Sendable {
  private let lock = NSLock()
  private var seen = Set<Int>()
  private var counter = 0

  func shouldFail(_ request: FakeLMM.Request) -> Bool {
    let key = request.body.hashValue
    return lock.withLock {
      if seen.contains(key) { return false }
      seen.insert(key)
      counter += 1
      return counter % 3 != 0
    }
  }
}
