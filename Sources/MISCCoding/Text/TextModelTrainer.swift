/// Builds the text coder's static model from a corpus of descriptions, one per line.
///
/// Three deterministic passes over the training lines, integer-only, so the same corpus always
/// gives the same bytes: (1) each static table block gets an owner context by majority vote,
/// (2) the owners' bit counts are gathered, (3) the state maps and mixer weights are learned by
/// running the coder's own predictor, with each count seen leave-one-out (the statistics of a
/// context exclude the bit being predicted, as they will for unseen text).
public enum TextModelTrainer {
  typealias Layout = TextModelLayout

  /// Lines held out for validation: every 25th line (index 0, 25, 50, …), about 4% of the
  /// corpus and about 135 of its long descriptions.
  public static func isValidation(lineIndex: Int) -> Bool { lineIndex % 25 == 0 }

  /// The corpus split into lines (UTF-8 bytes, without line ends), with their line indices.
  public static func lines(of corpus: [UInt8]) -> [[UInt8]] {
    var lines: [[UInt8]] = []
    var start = 0
    for i in 0...corpus.count where i == corpus.count || corpus[i] == 0x0A {
      var end = i
      if end > start && corpus[end - 1] == 0x0D { end -= 1 }
      if i < corpus.count || start < corpus.count { lines.append(Array(corpus[start..<end])) }
      start = i + 1
    }
    return lines
  }

  /// Split a corpus into the training lines and the held-out validation lines (empty lines dropped).
  public static func split(corpus: [UInt8]) -> (training: [[UInt8]], validation: [[UInt8]]) {
    var training: [[UInt8]] = []
    var validation: [[UInt8]] = []
    for (index, line) in lines(of: corpus).enumerated() where !line.isEmpty {
      if isValidation(lineIndex: index) { validation.append(line) } else { training.append(line) }
    }
    return (training, validation)
  }

  /// Train the model on `lines` (each a string of the coder; they never contain 0xFF).
  public static func train(lines: [[UInt8]], progress: ((String) -> Void)? = nil) -> TextModel {
    let blockBits = Layout.staticBlockBits
    var blockOffset: [Int] = []  // in blocks
    var totalBlocks = 0
    for bits in blockBits {
      blockOffset.append(totalBlocks)
      totalBlocks += 1 << bits
    }
    let emptyTables = [UInt8](repeating: 0, count: Layout.staticTableBytes)
    let flatMaps = [UInt16](repeating: 32768, count: Layout.mappedCount * Layout.stateCount)
    var initialWeights = [Int32](repeating: 0, count: Layout.weightCount)
    for s in 0..<(Layout.mixerSets + Layout.mixer2Sets) {
      for k in 0..<Layout.mappedCount { initialWeights[s * Layout.inputCount + k] = 19661 }
    }
    let scaffold = TextModel(tables: emptyTables, maps: flatMaps, weights: initialWeights, identifier: 0)

    // Pass 1: owners by majority vote (Boyer–Moore) over every nibble occurrence.
    var owner = [UInt64](repeating: 0, count: totalBlocks)
    var votes = [UInt32](repeating: 0, count: totalBlocks)
    var predictor = TextPredictor(model: scaffold, rate: 0)
    func vote(_ p: TextPredictor) {
      for i in 0..<Layout.staticCount {
        let g = blockOffset[i] + p.blockIndex[i]
        if votes[g] == 0 {
          owner[g] = p.blockKey[i]
          votes[g] = 1
        } else if owner[g] == p.blockKey[i] {
          votes[g] &+= 1
        } else {
          votes[g] -= 1
        }
      }
    }
    forEachBit(lines, &predictor, atNibble: { vote($0) }, bit: { _, _ in })
    progress?("pass 1/3: block owners")

    // Pass 2: the owners' counts of 0s and 1s at each node.
    var counts = [UInt32](repeating: 0, count: totalBlocks * 32)
    predictor = TextPredictor(model: scaffold, rate: 0)
    forEachBit(lines, &predictor, atNibble: { _ in }, bit: { p, bit in
      for i in 0..<Layout.staticCount {
        let g = blockOffset[i] + p.blockIndex[i]
        if votes[g] > 0 && owner[g] == p.blockKey[i] {
          counts[(g * 16 + p.node) * 2 + (bit ? 1 : 0)] &+= 1
        }
      }
    })
    var tables = emptyTables
    // The states with the current bit left out, for pass 3: [slot * 2 + bit].
    var leaveOneOut = [UInt8](repeating: 0, count: totalBlocks * 32)
    for g in 0..<totalBlocks where votes[g] > 0 {
      let i = blockOffset.lastIndex { $0 <= g }!
      tables[g * 16] = i < 2 ? 0 : UInt8(truncatingIfNeeded: owner[g])
      for node in 1..<16 {
        let c = (g * 16 + node) * 2
        let n0 = counts[c], n1 = counts[c + 1]
        tables[g * 16 + node] = TextState.quantize(n0: n0, n1: n1)
        if n0 > 0 { leaveOneOut[c] = TextState.quantize(n0: n0 - 1, n1: n1) }
        if n1 > 0 { leaveOneOut[c + 1] = TextState.quantize(n0: n0, n1: n1 - 1) }
      }
    }
    counts = []
    progress?("pass 2/3: counts")

    // Pass 3: state maps and mixer weights, learned with the coder's predictor.
    let counted = TextModel(tables: tables, maps: flatMaps, weights: initialWeights, identifier: 0)
    var maps = [StateMapEntry](repeating: StateMapEntry(), count: Layout.mappedCount * Layout.stateCount)
    predictor = TextPredictor(model: counted, rate: Layout.trainingRate)
    for line in lines {
      predictor.resetStream()
      for byte in line + [Layout.endOfString] {
        for k in (0..<8).reversed() {
          let bit = (byte >> UInt8(k)) & 1 == 1
          predictor.computeStates(staticFromTables: false)
          for i in 0..<Layout.staticCount {
            let g = blockOffset[i] + predictor.blockIndex[i]
            let state: UInt8
            if votes[g] > 0 && owner[g] == predictor.blockKey[i] {
              state = leaveOneOut[(g * 16 + predictor.node) * 2 + (bit ? 1 : 0)]
            } else if tables[g * 16] == predictor.blockCheck[i] {
              state = tables[g * 16 + predictor.node]
            } else {
              state = 0
            }
            predictor.states[i] = state
          }
          for k in 0..<Layout.mappedCount {
            predictor.inputs[k] = TextLogistic.stretch(maps[k << 8 | Int(predictor.states[k])].p16)
          }
          _ = predictor.mix(mapsFromModel: false)
          for k in 0..<Layout.mappedCount {
            maps[k << 8 | Int(predictor.states[k])].update(bit)
          }
          predictor.update(bit)
        }
      }
      predictor.startString()
    }
    progress?("pass 3/3: state maps and mixer")
    return TextModel(tables: tables, maps: maps.map { UInt16($0.p16) }, weights: predictor.weights, identifier: 0)
      .reloaded()
  }

  /// Run `predictor` over every bit of every line (then the end-of-string byte), calling
  /// `atNibble` at each nibble's start and `bit` before each bit is learned.
  private static func forEachBit(
    _ lines: [[UInt8]], _ predictor: inout TextPredictor,
    atNibble: (TextPredictor) -> Void, bit: (TextPredictor, Bool) -> Void
  ) {
    for line in lines {
      for byte in line + [Layout.endOfString] {
        for k in (0..<8).reversed() {
          if k == 7 || k == 3 { atNibble(predictor) }
          let b = (byte >> UInt8(k)) & 1 == 1
          bit(predictor, b)
          predictor.advance(b)
        }
      }
      predictor.startString()
    }
  }

  /// A state map entry while training: the running mean of the bits seen in the state.
  struct StateMapEntry {
    var p: UInt32 = 1 << 21  // 22-bit probability
    var n: UInt32 = 0
    var p16: UInt32 { min(max(p >> 6, 16), 65520) }
    mutating func update(_ bit: Bool) {
      let target: Int64 = bit ? (1 << 22) - 1 : 0
      let delta = (target - Int64(p)) * 2 / Int64(2 * n + 3)
      p = UInt32(Int64(p) + delta)
      if n < 1023 { n += 1 }
    }
  }
}

extension TextModel {
  /// The same model as read back from its serialized bytes (sets the identifier).
  func reloaded() -> TextModel {
    // swiftlint:disable:next force_try
    try! TextModel(bytes: serialized())
  }
}
