import Foundation
import MISCImage

/// The LMM encoder over any OpenAI-compatible chat-completions server (OpenAI, vLLM, Ollama's
/// /v1, llama.cpp server, LM Studio): one request per image, the image inline as a JPEG data
/// URI, temperature 0 and a seed, JSON-schema output with a fallback to the paper's line
/// format, answers repaired to the level's limits, and results cached on disk.
public struct OpenAIDescriber: Describer {
  public let configuration: Configuration
  private let client: ChatCompletionsClient
  private let traits = ServerTraits()
  private let log: @Sendable (String) -> Void

  /// - Parameters:
  ///   - sleep: waits between retries (seconds), by default for real; injectable so tests need
  ///     not wait.
  ///   - log: one-line notices (retries, fallbacks, cache trouble); never given the key.
  public init(configuration: Configuration, sleep: (@Sendable (Double) async throws -> Void)? = nil,
              log: @escaping @Sendable (String) -> Void = { _ in }) throws {
    guard let endpoint = configuration.endpoint else { throw DescriberError.invalidURL(configuration.baseURL) }
    self.configuration = configuration
    self.log = log
    client = ChatCompletionsClient(
      endpoint: endpoint, model: configuration.model, apiKey: configuration.apiKey, timeout: configuration.timeout,
      policy: configuration.retryPolicy, sleep: sleep ?? RetryPolicy.taskSleep, log: log, transport: HTTPTransport())
  }

  public func describe(_ image: Image) async throws -> Semantics {
    let cache = configuration.cacheDirectory.map(DescribeCache.init(directory:))
    let key = cache.map { _ in DescribeCache.key(imageHash: DescribeCache.contentHash(image), configuration: configuration) }
    if let cache, let key, let cached = cache.load(key: key) { return cached }

    let semantics = try await ask(imageURL: try Self.dataURI(image, longSide: configuration.longSide, quality: configuration.jpegQuality))
    if let cache, let key {
      do {
        try cache.store(semantics, key: key, model: configuration.model)
      } catch {
        log("could not write the describe cache in \(cache.directory): \(error)")
      }
    }
    return semantics
  }

  /// The image as sent: area-downscaled to `longSide` (never upscaled), JPEG, base64 data URI.
  public static func dataURI(_ image: Image, longSide: Int, quality: Int) throws -> String {
    var sent = image
    let side = max(image.width, image.height)
    if side > longSide && longSide > 0 {
      let scale = Double(longSide) / Double(side)
      let width = max(1, Int((Double(image.width) * scale).rounded()))
      let height = max(1, Int((Double(image.height) * scale).rounded()))
      sent = Resample.area(image, width: width, height: height)
    }
    let jpeg = try ImageIO.encodeJPEG(sent, quality: quality)
    return "data:image/jpeg;base64," + Data(jpeg).base64EncodedString()
  }

  // MARK: - The conversation

  /// Asks, repairs, and asks once more with a corrective message if the answer is unusable.
  /// A 400 that names an optional parameter (response_format, seed, temperature) drops it for
  /// this describer's later requests and tries again.
  private func ask(imageURL: String) async throws -> Semantics {
    var features = await traits.features
    while true {
      let words = configuration.overviewWords
      let prompt = features.jsonSchema ? DescriberPrompt.structured(overviewWords: words) : DescriberPrompt.lines(overviewWords: words)
      var messages: [JSONValue] = [
        .object(["role": "user", "content": .array([
          .object(["type": "text", "text": .string(prompt)]),
          .object(["type": "image_url", "image_url": .object(["url": .string(imageURL)])]),
        ])]),
      ]
      let first: Answer
      do {
        first = try await complete(messages, features)
      } catch let error as DescriberError {
        guard let message = Self.rejection(error), let dropped = features.drop(for: message) else { throw error }
        await traits.update(features)
        log("\(client.shownURL) rejected \(dropped) (\(message)); continuing without it")
        continue
      }
      let firstResult = judge(first)
      if case let .success(semantics) = firstResult { return semantics }
      if case let .failure(reason) = firstResult {
        log("model '\(configuration.model)' gave no usable description (\(reason)); asking once more")
        messages.append(.object(["role": "assistant", "content": .string(first.text ?? "")]))
        messages.append(.object(["role": "user", "content": .string(
          DescriberPrompt.corrective(reason: reason.description, structured: features.jsonSchema, overviewWords: words))]))
      }
      let second = try await complete(messages, features)
      switch judge(second) {
      case let .success(semantics):
        return semantics
      case let .failure(reason):
        throw DescriberError.unusableAnswer(model: configuration.model, reason: reason.description, excerpt: excerpt(second))
      }
    }
  }

  /// The message of an error that may mean "this server does not take that parameter".
  private static func rejection(_ error: DescriberError) -> String? {
    switch error {
    case let .badRequest(_, message): return message
    case let .httpStatus(_, status, _, message) where status == 422 || status == 501: return message
    default: return nil
    }
  }

  private struct Answer {
    var text: String?
    var refusal: String?
  }

  private struct Unusable: Error, CustomStringConvertible {
    var description: String
  }

  private func complete(_ messages: [JSONValue], _ features: ServerTraits.Features) async throws -> Answer {
    var body: [String: JSONValue] = ["model": .string(configuration.model), "messages": .array(messages)]
    if features.temperature { body["temperature"] = .integer(0) }
    if features.seed { body["seed"] = .integer(configuration.seed) }
    if features.jsonSchema {
      body["response_format"] = .object([
        "type": "json_schema",
        "json_schema": .object(["name": .string(DescriberPrompt.schemaName), "strict": .bool(true), "schema": DescriberPrompt.schema]),
      ])
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = try await client.post(try encoder.encode(JSONValue.object(body)))
    return try parseCompletion(data)
  }

  /// The assistant message of a chat completion: its content (a string or text parts) and any refusal.
  private func parseCompletion(_ data: Data) throws -> Answer {
    func malformed(_ reason: String) -> DescriberError {
      let text = String(decoding: data.prefix(400), as: UTF8.self)
      return .malformedResponse(url: client.shownURL, reason: reason, excerpt: client.redact(Self.flatten(text, limit: 200)))
    }
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw malformed("not JSON") }
    guard let choices = object["choices"] as? [[String: Any]] else {
      if object["error"] != nil, let message = ServerErrorBody.message(in: data) { throw malformed("an error: \(client.redact(message))") }
      throw malformed("no choices")
    }
    guard let message = choices.first?["message"] as? [String: Any] else { return Answer(text: nil, refusal: nil) }
    var text = message["content"] as? String
    if text == nil, let parts = message["content"] as? [[String: Any]] {
      text = parts.compactMap { $0["text"] as? String }.joined(separator: "\n")
    }
    return Answer(text: text.map(Self.stripThinking), refusal: message["refusal"] as? String)
  }

  /// Repaired semantics, or why the answer cannot be used.
  private func judge(_ answer: Answer) -> Result<Semantics, Unusable> {
    if let refusal = answer.refusal, !refusal.isEmpty { return .failure(Unusable(description: "a refusal")) }
    let text = answer.text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    if text.isEmpty { return .failure(Unusable(description: "empty content")) }
    if LMMAnswerParser.isRefusal(text) { return .failure(Unusable(description: "a refusal")) }
    let semantics = SemanticsRepair(overviewWords: configuration.overviewWords).repair(LMMAnswerParser.parse(text))
    guard SemanticsRepair.isUsable(semantics) else { return .failure(Unusable(description: "no overview and no items could be read")) }
    return .success(semantics)
  }

  private func excerpt(_ answer: Answer) -> String {
    let text = answer.refusal.flatMap { $0.isEmpty ? nil : $0 } ?? answer.text ?? ""
    return client.redact(Self.flatten(text, limit: 200))
  }

  /// The first `limit` characters, on one line.
  static func flatten(_ text: String, limit: Int) -> String {
    let head = String(text.prefix(limit))
    return head.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
  }

  /// Reasoning models served by vLLM or llama.cpp may put `<think>…</think>` before the answer.
  static func stripThinking(_ text: String) -> String {
    guard let open = text.range(of: "<think>"), let close = text.range(of: "</think>", range: open.upperBound..<text.endIndex) else {
      return text
    }
    return String(text[..<open.lowerBound] + text[close.upperBound...])
  }
}

/// What this describer has learnt about its server: the optional parameters it refused.
actor ServerTraits {
  struct Features: Sendable, Hashable {
    var jsonSchema = true
    var seed = true
    var temperature = true

    /// Turns off the parameter a 400 message names; returns its name, or nil if none applies.
    mutating func drop(for message: String) -> String? {
      let m = message.lowercased()
      if jsonSchema && ["response_format", "json_schema", "response format", "structured", "schema", "grammar"].contains(where: m.contains) {
        jsonSchema = false
        return "response_format json_schema"
      }
      if seed && m.contains("seed") {
        seed = false
        return "seed"
      }
      if temperature && m.contains("temperature") {
        temperature = false
        return "temperature"
      }
      return nil
    }
  }

  private(set) var features = Features()

  func update(_ learnt: Features) {
    features.jsonSchema = features.jsonSchema && learnt.jsonSchema
    features.seed = features.seed && learnt.seed
    features.temperature = features.temperature && learnt.temperature
  }
}
