import FlyingFox
import Foundation
import MISCImage
import Testing
@testable import MISC

/// `DiffusionServerRestorer` against a fake worker: the wire format, retries, errors, timeouts.
@Suite struct DiffusionServerRestorerTests {
  let condition = Image(width: 24, height: 16, fill: (40, 120, 200))
  let pass = RestorePass(kind: .item(index: 1), prompt: "red car with chrome wheels", negativePrompt: "blurry",
                         steps: 3, guidanceScale: 3.5, strength: 1.0, seed: 4_000_000_000, colorFix: false)

  func restorer(_ fake: FakeDiffusionWorker, timeout: Double = 30, attempts: Int = 4,
                sleeps: SleepRecorder = SleepRecorder()) -> DiffusionServerRestorer {
    var configuration = DiffusionServerRestorer.Configuration()
    configuration.timeout = timeout
    configuration.maxAttempts = attempts
    var restorer = DiffusionServerRestorer(url: fake.url, configuration: configuration)
    restorer.sleep = sleeps.sleep
    return restorer
  }

  @Test func aPassIsOneJSONPostAndAPNGAnswer() async throws {
    let answer = Image(width: 24, height: 16, fill: (1, 2, 3))
    let fake = try await FakeDiffusionWorker { _, _ in try FakeDiffusionWorker.png(answer) }
    defer { Task { await fake.stop() } }
    let result = try await restorer(fake).restore(condition, pass)
    #expect(result == answer)
    let request = try #require(fake.requests.first)
    #expect(request.method == "POST" && request.path == "/v1/restore")
    let json = request.json
    #expect(json["prompt"] as? String == "red car with chrome wheels")
    #expect(json["negative_prompt"] as? String == "blurry")
    #expect(json["steps"] as? Int == 3 && json["guidance_scale"] as? Double == 3.5 && json["strength"] as? Double == 1.0)
    #expect((json["seed"] as? NSNumber)?.uint32Value == 4_000_000_000)
    #expect(json["color_fix"] as? Bool == false)
    let png = try #require(Data(base64Encoded: json["image"] as? String ?? ""))
    #expect(try ImageIO.decode([UInt8](png), name: "request").image == condition)
  }

  @Test func aRejectionQuotesTheWorkerAndIsNotRetried() async throws {
    let fake = try await FakeDiffusionWorker { _, _ in FakeDiffusionWorker.error(400, "'steps' must be in 1...1000, got 0") }
    defer { Task { await fake.stop() } }
    let sleeps = SleepRecorder()
    await #expect {
      _ = try await restorer(fake, sleeps: sleeps).restore(condition, pass)
    } throws: { error in
      guard case let .rejected(_, status, message) = error as? DiffusionServerError else { return false }
      return status == 400 && message == "'steps' must be in 1...1000, got 0"
        && "\(error)".contains("refused the request (HTTP 400): 'steps' must be in 1...1000, got 0")
    }
    #expect(fake.requests.count == 1 && sleeps.delays.isEmpty)
  }

  @Test func serverErrorsAreRetriedWithBackoffThenSucceed() async throws {
    let fake = try await FakeDiffusionWorker { index, _ in
      index < 2 ? FakeDiffusionWorker.error(503, "CUDA out of memory") : try FakeDiffusionWorker.png(Image(width: 24, height: 16, fill: (9, 9, 9)))
    }
    defer { Task { await fake.stop() } }
    let sleeps = SleepRecorder()
    let result = try await restorer(fake, sleeps: sleeps).restore(condition, pass)
    #expect(result[0, 0, 0] == 9)
    #expect(fake.requests.count == 3)
    #expect(sleeps.delays == [0.5, 1.0])
  }

  static func busy(_ status: Int = 503, retryAfter: String? = "3") -> HTTPResponse {
    FakeHTTPServer.json(status, ["error": ["message": "the worker is busy", "type": "busy"]],
                        headers: retryAfter.map { ["Retry-After": $0] } ?? [:])
  }

  @Test func aBusyWorkerIsAskedAgainAfterItsRetryAfterWithTheSameSeedPastMaxAttempts() async throws {
    let fake = try await FakeDiffusionWorker { index, _ in
      index < 5 ? Self.busy() : try FakeDiffusionWorker.png(Image(width: 24, height: 16, fill: (9, 9, 9)))
    }
    defer { Task { await fake.stop() } }
    let sleeps = SleepRecorder()
    let client = restorer(fake, sleeps: sleeps)
    let result = try await client.restore(condition, pass)
    #expect(result[0, 0, 0] == 9)
    #expect(fake.requests.count == 6)
    #expect(sleeps.delays == [3, 3, 3, 3, 3])
    #expect(Set(fake.requests.map(\.body)).count == 1)
    #expect((fake.requests.last?.json["seed"] as? NSNumber)?.uint32Value == 4_000_000_000)
    #expect(client.retries.value == 5)
  }

  @Test func a429WithoutRetryAfterBacksOffAndAnHTTPDateIsHonoured() async throws {
    let date = "Sun, 06 Nov 2033 08:49:37 GMT"
    let fake = try await FakeDiffusionWorker { index, _ in
      switch index {
      case 0: return Self.busy(429, retryAfter: nil)
      case 1: return Self.busy(503, retryAfter: date)
      default: return try FakeDiffusionWorker.png(Image(width: 24, height: 16, fill: (9, 9, 9)))
      }
    }
    defer { Task { await fake.stop() } }
    let sleeps = SleepRecorder()
    var client = restorer(fake, sleeps: sleeps)
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    let then = try #require(formatter.date(from: date))
    client.now = { then.addingTimeInterval(-7) }
    _ = try await client.restore(condition, pass)
    #expect(sleeps.delays == [0.5, 7])
  }

  @Test func aWorkerBusyPastTheDeadlineIsAClearError() async throws {
    let fake = try await FakeDiffusionWorker { _, _ in Self.busy(retryAfter: "40") }
    defer { Task { await fake.stop() } }
    let clock = FakeClock()
    var configuration = DiffusionServerRestorer.Configuration()
    configuration.busyDeadline = 100
    var client = DiffusionServerRestorer(url: fake.url, configuration: configuration)
    client.sleep = clock.sleep
    client.now = clock.now
    await #expect {
      _ = try await client.restore(condition, pass)
    } throws: { error in
      guard case .busy(_, 503, "the worker is busy", 100, 3) = error as? DiffusionServerError else { return false }
      return "\(error)".contains("stayed busy (HTTP 503) for 100 s")
    }
    #expect(fake.requests.count == 3 && client.retries.value == 2)
  }

  @Test func a503WithoutRetryAfterIsAFailureRetriedWithinMaxAttempts() async throws {
    let fake = try await FakeDiffusionWorker { _, _ in Self.busy(retryAfter: nil) }
    defer { Task { await fake.stop() } }
    let sleeps = SleepRecorder()
    await #expect {
      _ = try await restorer(fake, attempts: 2, sleeps: sleeps).restore(condition, pass)
    } throws: { error in
      guard case .serverFailed(_, 503, _, 2) = error as? DiffusionServerError else { return false }
      return true
    }
    #expect(sleeps.delays == [0.5])
  }

  @Test func persistentServerErrorsFailAfterEveryAttempt() async throws {
    let fake = try await FakeDiffusionWorker { _, _ in FakeDiffusionWorker.error(500, "the pass failed: RuntimeError: boom") }
    defer { Task { await fake.stop() } }
    await #expect {
      _ = try await restorer(fake, attempts: 3).restore(condition, pass)
    } throws: { error in
      guard case let .serverFailed(_, 500, message, 3) = error as? DiffusionServerError else { return false }
      return message == "the pass failed: RuntimeError: boom" && "\(error)".contains("(3 attempts)")
    }
    #expect(fake.requests.count == 3)
  }

  @Test func aSlowWorkerTimesOutWithoutARetry() async throws {
    let fake = try await FakeDiffusionWorker { _, _ in
      try await Task.sleep(nanoseconds: 5_000_000_000)
      return try FakeDiffusionWorker.png(Image(width: 24, height: 16, fill: (0, 0, 0)))
    }
    defer { Task { await fake.stop() } }
    let start = Date()
    await #expect {
      _ = try await restorer(fake, timeout: 0.5).restore(condition, pass)
    } throws: { error in
      guard case .timedOut(_, 0.5) = error as? DiffusionServerError else { return false }
      return "\(error)".contains("did not answer within 0.5 s")
    }
    #expect(Date().timeIntervalSince(start) < 4)
    #expect(fake.requests.count == 1)
  }

  @Test func aClosedPortIsUnreachableAfterEveryAttempt() async throws {
    let port = try await FakeDiffusionWorker.closedPort()
    let sleeps = SleepRecorder()
    var restorer = DiffusionServerRestorer(url: URL(string: "http://127.0.0.1:\(port)")!)
    restorer.sleep = sleeps.sleep
    await #expect {
      _ = try await restorer.checkHealth()
    } throws: { error in
      guard case .unreachable(_, _, 4) = error as? DiffusionServerError else { return false }
      return "\(error)".contains("cannot reach the diffusion worker at http://127.0.0.1:\(port)/v1/health")
    }
    #expect(sleeps.delays == [0.5, 1.0, 2.0])
  }

  @Test func connectReadsTheHealthAndNamesTheModel() async throws {
    let fake = try await FakeDiffusionWorker { _, request in
      request.path == "/v1/health" ? FakeDiffusionWorker.health() : FakeDiffusionWorker.error(404, "no")
    }
    defer { Task { await fake.stop() } }
    let restorer = try await DiffusionServerRestorer.connect(to: fake.url)
    #expect(restorer.health?.model.id == "stabilityai/stable-diffusion-2-1-base")
    #expect(restorer.name == "diffusion worker at \(fake.url.absoluteString) (stabilityai/stable-diffusion-2-1-base + ControlNet tile; cuda, float16)")
    #expect(fake.requests.map(\.method) == ["GET"])
  }

  @Test(arguments: [("img2img", nil as String?, 0.5, ", img2img"), ("controlnet", "tile", 1.0, " + ControlNet tile"),
                     ("diffbir", "general_full_v1.ckpt", 1.0, "")])
  func theDefaultStrengthFollowsThePipelineKind(kind: String, controlnet: String?, strength: Double, label: String) async throws {
    let fake = try await FakeDiffusionWorker { _, request in
      request.path == "/v1/health" ? FakeDiffusionWorker.health(controlnet: controlnet, pipeline: kind) : FakeDiffusionWorker.error(404, "no")
    }
    defer { Task { await fake.stop() } }
    let restorer = try await DiffusionServerRestorer.connect(to: fake.url)
    #expect(restorer.health?.pipeline == kind)
    #expect(restorer.defaultStrength == strength)
    let model = kind == "diffbir" ? "DiffBIR general_full_v1.ckpt" : "stabilityai/stable-diffusion-2-1-base" + label
    #expect(restorer.name == "diffusion worker at \(fake.url.absoluteString) (\(model); cuda, float16)")
  }

  @Test func aWorkerNotYetAskedGetsFullStrength() {
    #expect(DiffusionServerRestorer(url: URL(string: "http://127.0.0.1:1")!).defaultStrength == 1.0)
    #expect(DiffusionServerRestorer.Health.defaultStrength(pipeline: "some-future-kind") == 1.0)
  }

  @Test func answersThatBreakTheProtocolAreClearErrors() async throws {
    let fake = try await FakeDiffusionWorker { _, request in
      if request.path == "/v1/health" {
        return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/html"], body: Data("<html>hello</html>".utf8))
      }
      return try FakeDiffusionWorker.png(Image(width: 8, height: 8, fill: (0, 0, 0)))
    }
    defer { Task { await fake.stop() } }
    await #expect {
      _ = try await DiffusionServerRestorer.connect(to: fake.url)
    } throws: { error in
      guard case .badResponse = error as? DiffusionServerError else { return false }
      return "\(error)".contains("not the worker's JSON")
    }
    await #expect {
      _ = try await restorer(fake).restore(condition, pass)
    } throws: { error in
      guard case .badResponse = error as? DiffusionServerError else { return false }
      return "\(error)".contains("24x16")
    }
  }

  @Test func urlsMustBeHTTP() throws {
    #expect(throws: DiffusionServerError.invalidURL("ftp://x")) { try DiffusionServerRestorer.url("ftp://x") }
    #expect(throws: DiffusionServerError.self) { try DiffusionServerRestorer.url("localhost:7860") }
    #expect(try DiffusionServerRestorer.url("http://gpu-box:7860/").absoluteString == "http://gpu-box:7860/")
  }
}

/// A clock that only moves when the client sleeps.
final class FakeClock: @unchecked Sendable {
  private let lock = NSLock()
  private var elapsed = 0.0
  private let origin = Date(timeIntervalSince1970: 2_000_000_000)
  var now: @Sendable () -> Date { { [self] in lock.withLock { origin.addingTimeInterval(elapsed) } } }
  var sleep: @Sendable (Double) async throws -> Void { { [self] seconds in lock.withLock { elapsed += seconds } } }
}
