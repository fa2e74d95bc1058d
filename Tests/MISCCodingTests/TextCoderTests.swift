import Foundation
import Testing
@testable import MISCCoding

/// The package root, found from this file's path (Tests/MISCCodingTests/TextCoderTests.swift).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()
/// The training corpus, when this checkout sits beside the shared data.
/// `MISC_DATA` names the shared data folder (`make test` sets it); by default it sits beside the checkout.
private let corpusURL = (ProcessInfo.processInfo.environment["MISC_DATA"].map { URL(fileURLWithPath: $0) }
  ?? packageRoot.appendingPathComponent("../shared/data")).appendingPathComponent("captions/train.txt").standardizedFileURL

/// Descriptions written for these tests (not from the corpus), in the styles the codec carries.
let sampleDescriptions = [
  "",
  "A red bicycle leans against a brick wall next to a wooden door.",
  "bicycle",
  "a red bicycle with a wicker basket",
  """
  The image shows a quiet harbour at sunset. In the foreground, three small fishing boats with blue and \
  white hulls are moored to a weathered wooden pier. The water is calm and reflects the orange and pink \
  sky. In the background, a row of pastel-coloured houses lines the shore, and a lighthouse with a red \
  roof stands on a rocky point to the right. A few seagulls are flying above the boats.
  """,
  """
  A close-up, eye-level view of a ceramic mug filled with coffee, placed on a light grey marble \
  countertop. The mug is white with a thin gold rim, and steam rises from the surface of the drink. \
  To the left of the mug there is a small plate with two chocolate chip cookies. The background is \
  blurred, showing a window with soft daylight coming through white curtains.
  """,
  "Two dogs—a beagle & a poodle—play in the snow (about 10:30 a.m.); \"fetch!\" 🐕❄️",
  "Ein Mädchen fährt Fahrrad. 一个女孩在骑自行车。 فتاة تركب دراجة. Девочка едет на велосипеде.",
  "e\u{301} a\u{308}\u{332} Z\u{0351}\u{0346}\u{035b}\u{0316} 👩🏽‍🚀 🇫🇷 \u{200F}שלום\u{200E}",
  "\u{0}\u{1}\t\r\n\u{7F}\u{80}\u{FFFD}\u{FEFF}\u{10FFFF}",
]

/// The model path (format version 3; version 4 adds the raw escape, tested in `rawEscape`).
private func encodeAll(_ texts: [String], model: TextModel? = nil, profile: FormatProfile = .version3) -> [UInt8] {
  var coder = model.map { TextCoder(model: $0, profile: profile) } ?? (try! TextCoder(profile: profile))
  var encoder = RangeEncoder()
  for text in texts { coder.encode(text, to: &encoder) }
  return encoder.finish()
}

private func decodeAll(_ bytes: [UInt8], count: Int, profile: FormatProfile = .version3) throws -> [String] {
  var coder = try TextCoder(profile: profile)
  var decoder = RangeDecoder(bytes)
  return try (0..<count).map { _ in try coder.decode(from: &decoder) }
}

private func expectRoundTrip(_ texts: [String], _ comment: Comment? = nil) {
  let bytes = encodeAll(texts)
  do {
    let decoded = try decodeAll(bytes, count: texts.count)
    #expect(decoded == texts, comment)
  } catch {
    Issue.record("decode failed: \(error) \(comment.map { "\($0)" } ?? "")")
  }
}

private func corpusLines() -> [[UInt8]]? {
  guard let data = FileManager.default.contents(atPath: corpusURL.path) else { return nil }
  return TextModelTrainer.split(corpus: [UInt8](data)).validation
}

private func wordCount(_ text: String) -> Int { text.split(whereSeparator: { $0.isWhitespace }).count }

@Suite struct TextCoderTests {
  @Test func modelResourceLoads() throws {
    let model = try TextModel.shared.get()
    #expect(try TextModel(bytes: model.serialized()).identifier == model.identifier)
    let size = try #require(TextModel.resourceURL.flatMap { try? $0.resourceValues(forKeys: [.fileSizeKey]).fileSize })
    #expect(size <= 4 << 20, "the model resource must stay within 4 MB")
  }

  @Test func sampleStringsRoundTripOneByOne() {
    for text in sampleDescriptions { expectRoundTrip([text], "\(text.debugDescription)") }
  }

  @Test func severalStringsShareOneStream() {
    expectRoundTrip(sampleDescriptions)
    expectRoundTrip(["", "", ""])
    expectRoundTrip(sampleDescriptions.reversed() + sampleDescriptions)
  }

  @Test func laterStringsBenefitFromEarlierOnes() {
    let overview = sampleDescriptions[4]
    let alone = encodeAll(["three small fishing boats with blue and white hulls"]).count
    let together = encodeAll([overview, "three small fishing boats with blue and white hulls"]).count
      - encodeAll([overview]).count
    #expect(together < alone)
  }

  @Test func longDescriptionsStayCompact() {
    // A guard against a broken model, not a benchmark: the real figure is ≈ 9 bits per word.
    for text in sampleDescriptions where wordCount(text) >= 50 {
      let bits = encodeAll([text]).count * 8
      #expect(Double(bits) / Double(wordCount(text)) < 12, "\(bits) bits for \(wordCount(text)) words")
    }
  }

  @Test func everyScalarValueRoundTrips() {
    // All Unicode scalar values, chunked into strings of at most maxBytes UTF-8 bytes, several per stream.
    var strings: [String] = []
    var current = String.UnicodeScalarView()
    var currentBytes = 0
    for value in UInt32(0)...0x10FFFF {
      guard let scalar = Unicode.Scalar(value) else { continue }
      let length = String(scalar).utf8.count
      if currentBytes + length > TextCoder.maxBytes {
        strings.append(String(current))
        current = String.UnicodeScalarView()
        currentBytes = 0
      }
      current.append(scalar)
      currentBytes += length
    }
    strings.append(String(current))
    #expect(strings.count > 1000)
    // Streams of 64 strings each.
    for start in stride(from: 0, to: strings.count, by: 64) {
      expectRoundTrip(Array(strings[start..<min(start + 64, strings.count)]), "chunk \(start)")
    }
  }

  @Test func longestStringsRoundTrip() {
    let ascii = String(repeating: "a cat sat on the mat. ", count: 200)
    let exact = String(ascii.utf8.prefix(TextCoder.maxBytes))!
    #expect(exact.utf8.count == TextCoder.maxBytes)
    expectRoundTrip([exact, "", exact])
    expectRoundTrip([String(repeating: "🐈", count: TextCoder.maxBytes / 4)])
    expectRoundTrip([String(repeating: "e\u{301}", count: TextCoder.maxBytes / 3)])
    var random = SplitMix64(seed: 7)
    let noise = String(decoding: (0..<TextCoder.maxBytes).map { _ in UInt8.random(in: 0...0x7F, using: &random) }, as: UTF8.self)
    expectRoundTrip([noise])
  }

  @Test func overlongStreamIsRejected() throws {
    // A stream that carries maxBytes + 1 bytes before its end: only a corrupt or hostile writer makes one.
    var predictor = TextPredictor(model: try TextModel.shared.get())
    var encoder = RangeEncoder()
    for _ in 0...TextCoder.maxBytes { predictor.encode(0x61, to: &encoder) }
    predictor.encode(TextModelLayout.endOfString, to: &encoder)
    #expect(throws: CodingError.self) { try decodeAll(encoder.finish(), count: 1) }
  }

  /// Version 4: each string model-coded or raw, whichever is shorter; raw streams that are
  /// invalid UTF-8 or run past `maxBytes` are refused like model-coded ones.
  @Test func rawEscape() throws {
    let texts = sampleDescriptions + ["🚲🧱🚪☀️🌳🐦🌸🏠🚗🙂", "", String(repeating: "中", count: TextCoder.maxBytes / 3)]
    let bytes = encodeAll(texts, profile: .version4)
    #expect(try decodeAll(bytes, count: texts.count, profile: .version4) == texts)
    #expect(bytes.count * 8 <= texts.reduce(0) { $0 + TextCoder.rawBits(byteCount: $1.utf8.count) + 6 })
    func raw(_ payload: [UInt8], count: Int) -> [UInt8] {
      var encoder = RangeEncoder()
      var flag = AdaptiveBit(p1: 4096)
      flag.encode(true, to: &encoder)
      var codePoints = AdaptiveBit(p1: 49152)
      codePoints.encode(false, to: &encoder)  // bytes, not code points
      let n = UInt32(count + 1), length = 32 - n.leadingZeroBitCount
      for _ in 0..<(length - 1) { encoder.encodeBits(0, count: 1) }
      encoder.encodeBits(1, count: 1)
      encoder.encodeBits(n & ((1 << UInt32(length - 1)) - 1), count: length - 1)
      for byte in payload { encoder.encodeBits(UInt32(byte), count: 8) }
      return encoder.finish()
    }
    #expect(try decodeAll(raw(Array("héllo".utf8), count: 6), count: 1, profile: .version4) == ["héllo"])
    #expect(throws: CodingError.self) { try decodeAll(raw([0x61, 0xC0, 0x80], count: 3), count: 1, profile: .version4) }
    #expect(throws: CodingError.self) { try decodeAll(raw([], count: TextCoder.maxBytes + 1), count: 1, profile: .version4) }
  }

  @Test func invalidUTF8IsRejected() throws {
    var predictor = TextPredictor(model: try TextModel.shared.get())
    var encoder = RangeEncoder()
    for byte: UInt8 in [0x61, 0xC0, 0x80] { predictor.encode(byte, to: &encoder) }
    predictor.encode(TextModelLayout.endOfString, to: &encoder)
    #expect(throws: CodingError.self) { try decodeAll(encoder.finish(), count: 1) }
  }

  @Test func codingIsDeterministic() throws {
    let first = encodeAll(sampleDescriptions)
    for _ in 0..<3 { #expect(encodeAll(sampleDescriptions) == first) }
    // Across processes and machines: a fixed digest of the coded samples for the committed model.
    // When the model is retrained on purpose, update both values (the coded bytes change with it).
    let model = try TextModel.shared.get()
    let digest = TextHash.fnv1a64(first)
    if model.identifier == pinnedModelIdentifier {
      #expect(digest == pinnedSampleDigest, "coded bytes changed: \(String(digest, radix: 16))")
    } else {
      Issue.record("""
        the model changed (identifier \(String(model.identifier, radix: 16))): update pinnedModelIdentifier \
        and pinnedSampleDigest (\(String(digest, radix: 16))) in TextCoderTests.swift
        """)
    }
  }

  @Test func corruptPayloadsNeverCrash() {
    let texts = Array(sampleDescriptions.prefix(6))
    let clean = encodeAll(texts)
    var random = SplitMix64(seed: 42)
    for trial in 0..<300 {
      var bytes = clean
      switch trial % 4 {
      case 0:  // flip bits
        for _ in 0..<(1 + trial % 5) {
          let i = Int.random(in: 0..<bytes.count, using: &random)
          bytes[i] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
        }
      case 1:  // truncate
        bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
      case 2:  // garbage
        bytes = (0..<Int.random(in: 0..<200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
      default:  // all ones: decodes as long runs
        bytes = [UInt8](repeating: 0xFF, count: Int.random(in: 0..<64, using: &random))
      }
      // Either an error or strings; never a crash or a hang.
      if let decoded = try? decodeAll(bytes, count: texts.count) {
        for text in decoded { #expect(text.utf8.count <= TextCoder.maxBytes) }
      }
    }
  }

  @Test func corruptModelIsRejected() throws {
    let bytes = try TextModel.shared.get().serialized()
    var flipped = bytes
    flipped[bytes.count / 2] ^= 0x10
    #expect(throws: CodingError.self) { try TextModel(bytes: flipped) }
    #expect(throws: CodingError.self) { try TextModel(bytes: Array(bytes.dropLast())) }
    #expect(throws: CodingError.self) { try TextModel(bytes: Array(bytes.prefix(20))) }
    var version = bytes
    version[8] = 99
    #expect(throws: CodingError.self) { try TextModel(bytes: version) }
  }

  @Test func validationSliceRoundTrips() throws {
    guard let lines = corpusLines() else {
      print("TextCoderTests: \(corpusURL.path) not found; validation round trip skipped")
      return
    }
    #expect(lines.count > 3000)
    // Streams of 8 descriptions, as a file carries several strings.
    let texts = lines.map { String(decoding: $0, as: UTF8.self) }
    for start in stride(from: 0, to: texts.count, by: 8) {
      expectRoundTrip(Array(texts[start..<min(start + 8, texts.count)]), "validation lines \(start)…")
    }
  }

  /// The committed resource is exactly what the training tool builds from the corpus.
  /// Slow (about a minute): runs when MISC_SLOW_TESTS=1 (set by `make test`).
  @Test(.enabled(if: ProcessInfo.processInfo.environment["MISC_SLOW_TESTS"] == "1"))
  func resourceIsReproducibleFromTheCorpus() throws {
    let data = try #require(FileManager.default.contents(atPath: corpusURL.path), "corpus \(corpusURL.path) missing")
    let training = TextModelTrainer.split(corpus: [UInt8](data)).training
    let trained = TextModelTrainer.train(lines: training).serialized()
    let url = try #require(TextModel.resourceURL)
    let committed = try [UInt8](Data(contentsOf: url))
    #expect(trained.count == committed.count)
    #expect(trained == committed, """
      Sources/MISCCoding/Resources/text-model.bin differs from what misc-train-text builds: \
      run `swift run -c release misc-train-text --corpus ../shared/data/captions/train.txt \
      --output Sources/MISCCoding/Resources/text-model.bin`
      """)
  }
}

/// The committed model and the FNV-1a-64 of `sampleDescriptions` coded in one stream with it.
let pinnedModelIdentifier: UInt64 = 0x191b_9e44_492a_2bec
let pinnedSampleDigest: UInt64 = 0x6d2d_660e_6a57_752f
