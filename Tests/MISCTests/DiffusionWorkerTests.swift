import Foundation
import MISCCoding
import MISCImage
import Testing
@testable import MISC

/// The real worker (`python -m misc_worker`) on a tiny random SD + ControlNet pipeline: a `.misc`
/// decoded end to end through `DiffusionServerRestorer`. Needs the worker's virtual environment:
/// `make test` sets MISC_WORKER_PYTHON (e.g. .venv/bin/python).
@Suite(.enabled(if: WorkerEnvironment.python != nil,
                "set MISC_WORKER_PYTHON to a python with worker/'s dependencies (make test does) to run the diffusion worker tests"),
       .serialized)
struct DiffusionWorkerTests {
  static let workerRoot = WorkerEnvironment.root

  /// A 96x64 picture with two items mapped on a 8x8 grid: a red left half and a blue sky on top.
  func encodedFile() async throws -> [UInt8] {
    var image = Image(width: 96, height: 64, fill: (90, 140, 60))
    for y in 0..<64 { for x in 0..<96 {
      if x < 48 { image[x, y, 0] = UInt8(150 + y); image[x, y, 1] = 40 }
      if y < 16 { image[x, y, 2] = UInt8(200 + x / 2) }
    } }
    var car = BinaryMap(width: 8, height: 8)
    for y in 0..<8 { for x in 0..<4 { car[x, y] = true } }
    var sky = BinaryMap(width: 8, height: 8)
    for x in 0..<8 { sky[x, 0] = true; sky[x, 1] = true }
    let semantics = Semantics(overview: "a red car parked under a blue sky", items: [
      .init(name: "car", detail: "red car with chrome wheels", map: car),
      .init(name: "sky", detail: "clear blue sky", map: sky),
    ])
    let result = try await MISCEncoder(configuration: EncoderConfiguration(target: .bitsPerPixel(0.5))).encode(image, semantics: semantics)
    #expect(result.thumbnailSize != nil, "the file needs a thumbnail")
    #expect(result.semantics.items.allSatisfy { $0.map != nil }, "\(result.notices)")
    return result.bytes
  }

  @Test func aFileDecodesEndToEndThroughTheWorkerInThePapersOrder() async throws {
    let python = try #require(WorkerEnvironment.python)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("misc-worker-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }

    try WorkerProcess.run(python, ["-m", "misc_worker.tiny", directory.path], root: Self.workerRoot, log: directory.appendingPathComponent("tiny.log"))
    let worker = try WorkerProcess.start(python, [
      "-m", "misc_worker", "--model", directory.appendingPathComponent("model").path,
      "--controlnet", directory.appendingPathComponent("controlnet").path, "--port", "0", "--threads", "1", "--work-size", "0",
    ], root: Self.workerRoot, log: directory.appendingPathComponent("worker.log"))
    defer { worker.stop() }

    let restorer = try await DiffusionServerRestorer.connect(to: worker.url)
    #expect(restorer.health?.pipeline == "controlnet")
    #expect(restorer.name.contains("ControlNet"))
    let bytes = try await encodedFile()
    let recorder = PassRecordingRestorer(restorer)
    let start = Date()
    let first = try await MISCDecoder(restorer: recorder).decode(bytes)
    let seconds = Date().timeIntervalSince(start)
    let second = try await MISCDecoder(restorer: restorer).decode(bytes)
    print("DiffusionWorkerTests: tiny end-to-end decode (96x64, 3 passes, 3+3+40 steps) took \(String(format: "%.2f", seconds)) s")

    // The paper's order and constants: both item passes (eq. 7), then the final pass (eq. 8).
    let passes = await recorder.passes
    #expect(passes.map(\.kind) == [.item(index: 0), .item(index: 1), .final])
    #expect(passes.map(\.steps) == [3, 3, 40])
    #expect(passes.map(\.prompt) == ["red car with chrome wheels", "clear blue sky",
                                     "a red car parked under a blue sky, Hyper Detail, Masterpiece, 4K"])
    let seed = Container.seed(of: bytes)
    #expect(passes.map(\.seed) == [0, 1, 3].map { DecodeSchedule.passSeed(fileSeed: seed, index: $0) })
    #expect(try await restorer.checkHealth().requests == 6)

    #expect(first.image.width == 96 && first.image.height == 64)
    #expect(first.image != first.reference, "the diffusion passes changed I_ref")
    #expect(first.image == second.image, "a second decode gives the same pixels")
  }
}

/// Where the worker's python and package are.
enum WorkerEnvironment {
  static let python = ProcessInfo.processInfo.environment["MISC_WORKER_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("worker")
}

/// A child process of the tests: the tiny-model writer, or a worker whose URL it printed.
final class WorkerProcess: @unchecked Sendable {
  let process: Process
  let url: URL

  private init(process: Process, url: URL) {
    self.process = process
    self.url = url
  }

  private static func make(_ python: String, _ arguments: [String], root: URL, log: URL) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["PYTHONPATH"] = root.path
    environment["PYTHONUNBUFFERED"] = "1"
    process.environment = environment
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    process.standardError = try FileHandle(forWritingTo: log)
    return process
  }

  /// Runs to the end; throws with the log's tail unless it exits 0.
  static func run(_ python: String, _ arguments: [String], root: URL, log: URL) throws {
    let process = try make(python, arguments, root: root, log: log)
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw WorkerProcessError("\(arguments.joined(separator: " ")) failed", log: log) }
  }

  /// Starts the worker and waits (up to `seconds`) for its "listening on http://…" line.
  static func start(_ python: String, _ arguments: [String], root: URL, log: URL, seconds: Double = 300) throws -> WorkerProcess {
    let process = try make(python, arguments, root: root, log: log)
    let stdout = Pipe()
    process.standardOutput = stdout
    try process.run()
    let line = LineBox()
    let reader = Thread {
      var buffer = Data()
      while !buffer.contains(UInt8(ascii: "\n")) {
        let chunk = stdout.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        buffer.append(chunk)
      }
      line.set(String(decoding: buffer, as: UTF8.self))
    }
    reader.start()
    let deadline = Date().addingTimeInterval(seconds)
    while line.value == nil && Date() < deadline && process.isRunning { Thread.sleep(forTimeInterval: 0.05) }
    if line.value == nil { Thread.sleep(forTimeInterval: 0.2) }
    guard let text = line.value, let range = text.range(of: "listening on "),
          let url = URL(string: text[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)) else {
      if process.isRunning { process.terminate() }
      throw WorkerProcessError("the worker did not start", log: log)
    }
    return WorkerProcess(process: process, url: url)
  }

  /// SIGTERM, then SIGKILL if the worker is still there after 10 s.
  func stop() {
    guard process.isRunning else { return }
    process.terminate()
    let deadline = Date().addingTimeInterval(10)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }
}

private final class LineBox: @unchecked Sendable {
  private let lock = NSLock()
  private var text: String?
  var value: String? { lock.withLock { text } }
  func set(_ value: String) { lock.withLock { text = value } }
}

struct WorkerProcessError: Error, CustomStringConvertible {
  var description: String
  init(_ what: String, log: URL) {
    let tail = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").suffix(30).joined(separator: "\n") ?? ""
    description = "\(what); its log (\(log.path)) ends:\n\(tail)"
  }
}
