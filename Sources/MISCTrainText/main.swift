import Foundation
import MISCCoding

/// misc-train-text: builds the text coder's static model from the caption corpus.
///
///   misc-train-text --corpus ../shared/data/captions/train.txt \
///     --output Sources/MISCCoding/Resources/text-model.bin [--write-validation FILE] [--long-only] [--evaluate]
let usage = """
  usage: misc-train-text --corpus FILE [--output MODEL] [--write-validation FILE] [--long-only] [--evaluate]
    --corpus FILE            the caption corpus, one description per line (../shared/data/captions/train.txt)
    --output MODEL           where to write the model (Sources/MISCCoding/Resources/text-model.bin)
    --write-validation FILE  write the held-out validation lines (every 25th line) to FILE
    --long-only              with --write-validation or --evaluate: only lines of 60 words or more
    --evaluate               report bits per word of the new model on the validation lines
    --model MODEL            with --evaluate: evaluate this existing model instead of training one
  """

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("misc-train-text: \(message)\n".utf8))
  exit(2)
}

func value(_ option: String, _ arguments: inout ArraySlice<String>) -> String {
  guard let v = arguments.popFirst() else { fail("\(option) needs a file") }
  return v
}

var corpusPath: String?
var outputPath: String?
var validationPath: String?
var longOnly = false
var evaluate = false
var modelPath: String?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
  switch argument {
  case "--corpus": corpusPath = value("--corpus", &arguments)
  case "--output": outputPath = value("--output", &arguments)
  case "--write-validation": validationPath = value("--write-validation", &arguments)
  case "--model": modelPath = value("--model", &arguments)
  case "--long-only": longOnly = true
  case "--evaluate": evaluate = true
  case "-h", "--help": print(usage); exit(0)
  default: fail("unknown argument \(argument)\n\(usage)")
  }
}
guard let corpusPath else { fail("--corpus is required\n\(usage)") }
guard let corpusData = FileManager.default.contents(atPath: corpusPath) else { fail("cannot read \(corpusPath)") }
let (training, allValidation) = TextModelTrainer.split(corpus: [UInt8](corpusData))
func wordCount(_ line: [UInt8]) -> Int {
  String(decoding: line, as: UTF8.self).split(whereSeparator: { $0.isWhitespace }).count
}
let validation = longOnly ? allValidation.filter { wordCount($0) >= 60 } : allValidation
print("corpus: \(training.count) training lines, \(allValidation.count) validation lines held out")

if let validationPath {
  var out = Data()
  for line in validation { out.append(contentsOf: line); out.append(0x0A) }
  guard FileManager.default.createFile(atPath: validationPath, contents: out) else { fail("cannot write \(validationPath)") }
  print("wrote \(validation.count) validation lines to \(validationPath)")
}

if outputPath != nil || evaluate {
  let clock = ContinuousClock()
  let start = clock.now
  let model: TextModel
  if let modelPath {
    guard let data = FileManager.default.contents(atPath: modelPath) else { fail("cannot read \(modelPath)") }
    do { model = try TextModel(bytes: [UInt8](data)) } catch { fail("\(modelPath): \(error)") }
    print("loaded \(modelPath) in \(clock.now - start)")
  } else {
    model = TextModelTrainer.train(lines: training) { print("  \($0) (\(clock.now - start))") }
    print("trained in \(clock.now - start): \(model.serialized().count) bytes, identifier \(String(model.identifier, radix: 16))")
  }
  if let outputPath, modelPath == nil {
    let bytes = model.serialized()
    guard FileManager.default.createFile(atPath: outputPath, contents: Data(bytes)) else { fail("cannot write \(outputPath)") }
    print("wrote \(outputPath)")
  }
  if evaluate {
    let evaluationStart = clock.now
    var bits = 0
    var words = 0
    var sumPerLine = 0.0
    var longBits = 0, longWords = 0
    for line in validation {
      var coder = TextCoder(model: model)
      var encoder = RangeEncoder()
      coder.encode(String(decoding: line, as: UTF8.self), to: &encoder)
      let b = encoder.finish().count * 8
      let w = max(wordCount(line), 1)
      bits += b
      words += w
      sumPerLine += Double(b) / Double(w)
      if w >= 60 { longBits += b; longWords += w }
    }
    print(String(format: "validation: %d lines, %.3f bits/word overall, %.3f mean per line; long (>=60 words): %.3f bits/word over %d words",
                 validation.count, Double(bits) / Double(max(words, 1)), sumPerLine / Double(max(validation.count, 1)),
                 Double(longBits) / Double(max(longWords, 1)), longWords))
    print("evaluated (encode) in \(clock.now - evaluationStart)")
    // Decode speed: every validation line coded in one stream, then decoded.
    var coder = TextCoder(model: model)
    var encoder = RangeEncoder()
    let texts = validation.map { String(decoding: $0, as: UTF8.self) }
    for text in texts { coder.encode(text, to: &encoder) }
    let stream = encoder.finish()
    let decodeStart = clock.now
    var decoder = RangeDecoder(stream)
    var decodingCoder = TextCoder(model: model)
    var decodedBytes = 0
    for text in texts {
      guard let decoded = try? decodingCoder.decode(from: &decoder), decoded == text else { fail("decode mismatch") }
      decodedBytes += decoded.utf8.count
    }
    let decodeTime = clock.now - decodeStart
    let seconds = Double(decodeTime.components.seconds) + Double(decodeTime.components.attoseconds) / 1e18
    print(String(format: "decoded %d bytes in %.3f s: %.0f KB/s", decodedBytes, seconds, Double(decodedBytes) / 1000 / seconds))
  }
}
