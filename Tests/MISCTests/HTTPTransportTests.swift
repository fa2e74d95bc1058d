import FlyingFox
import Foundation
import Testing
@testable import MISC

/// The one URLSession bridge, against a fake server on 127.0.0.1: what it sends, that every
/// status is an answer, and how a deadline, a closed port and a cancelled task end an exchange.
@Suite struct HTTPTransportTests {
  let transport = HTTPTransport()

  @Test func getAndPostAreSentAsAskedAndAnyStatusIsAnAnswer() async throws {
    let fake = try await FakeHTTPServer { _, request in
      request.method == "GET" ? HTTPResponse(statusCode: .ok, headers: [HTTPHeader("X-Answer"): "yes"], body: Data("fine".utf8))
        : FakeHTTPServer.json(418, ["error": ["message": "short and stout"]], headers: ["Retry-After": "2"])
    }
    defer { Task { await fake.stop() } }
    let base = "http://127.0.0.1:\(fake.port)"

    let get = try await transport.send(HTTPTransport.Request(url: URL(string: base + "/v1/health")!, body: nil, timeout: 10))
    guard case let .answer(answer) = get else { Issue.record("\(get)"); return }
    #expect(answer.status == 200 && answer.body == Data("fine".utf8) && answer.headers["x-answer"] == "yes")

    let post = try await transport.send(HTTPTransport.Request(url: URL(string: base + "/v1/restore")!, body: Data("{}".utf8),
                                                              headers: ["Authorization": "Bearer k"], timeout: 10))
    guard case let .answer(refusal) = post else { Issue.record("\(post)"); return }
    #expect(refusal.status == 418 && refusal.headers["retry-after"] == "2")
    #expect(ServerErrorBody.message(in: refusal.body) == "short and stout")

    let requests = fake.requests
    #expect(requests.map(\.method) == ["GET", "POST"] && requests.map(\.path) == ["/v1/health", "/v1/restore"])
    #expect(requests[0].headers["content-type"] == nil && requests[0].body.isEmpty)
    #expect(requests[1].headers["content-type"] == "application/json" && requests[1].body == Data("{}".utf8))
    #expect(requests[1].headers["authorization"] == "Bearer k")
    #expect(requests.allSatisfy { $0.headers["user-agent"] == HTTPTransport.userAgent })
  }

  @Test func theDeadlineBoundsTheWholeExchange() async throws {
    let fake = try await FakeHTTPServer { _, _ in
      try await Task.sleep(nanoseconds: 5_000_000_000)
      return HTTPResponse(statusCode: .ok)
    }
    defer { Task { await fake.stop() } }
    let outcome = try await transport.send(HTTPTransport.Request(url: URL(string: "http://127.0.0.1:\(fake.port)/slow")!, body: nil,
                                                                 timeout: 0.3))
    #expect(outcome == .timedOut)
  }

  @Test func aClosedPortIsUnreachable() async throws {
    let port = try await FakeHTTPServer.closedPort()
    let outcome = try await transport.send(HTTPTransport.Request(url: URL(string: "http://127.0.0.1:\(port)/")!, body: nil, timeout: 10))
    #expect(outcome == .unreachable(reason: "connection refused (is the server running?)"))
  }

  @Test func cancellingTheTaskCancelsTheExchange() async throws {
    let fake = try await FakeHTTPServer { _, _ in
      try await Task.sleep(nanoseconds: 5_000_000_000)
      return HTTPResponse(statusCode: .ok)
    }
    defer { Task { await fake.stop() } }
    let transport = transport
    let exchange = Task {
      try await transport.send(HTTPTransport.Request(url: URL(string: "http://127.0.0.1:\(fake.port)/slow")!, body: nil, timeout: 60))
    }
    for _ in 0..<500 where fake.count == 0 { try await Task.sleep(nanoseconds: 10_000_000) }
    #expect(fake.count == 1, "the request reached the server")
    exchange.cancel()
    await #expect(throws: CancellationError.self) { try await exchange.value }
  }
}
