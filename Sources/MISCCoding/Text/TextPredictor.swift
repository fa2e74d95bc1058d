/// The bitwise predictor of the text coder: for each bit of each byte it gives the 16-bit
/// probability of a 1, from static trained contexts, adaptive within-stream contexts and a
/// match model, mixed in the logistic domain by an integer mixer. Encoder, decoder and trainer
/// run the same code, so they agree bit for bit.

struct TextPredictor {
  typealias Layout = TextModelLayout

  let model: TextModel
  /// Mixer weights, `mixerSets × inputCount`, 16.16 fixed point; they keep adapting while coding.
  var weights: [Int32]
  var rate: Int32

  // Static contexts: a hash per byte, a 16-byte block per nibble.
  var contextHash = [UInt64](repeating: 0, count: Layout.staticCount)
  var blockIndex = [Int](repeating: 0, count: Layout.staticCount)
  var blockKey = [UInt64](repeating: 0, count: Layout.staticCount)
  var blockCheck = [UInt8](repeating: 0, count: Layout.staticCount)
  /// Byte offset of the current block in `model.tables`, or -1 when its check byte differs.
  var blockBase = [Int](repeating: -1, count: Layout.staticCount)

  // Adaptive contexts: byte states in hashed tables.
  var adaptive: [UInt8]
  var adaptiveHash = [UInt32](repeating: 0, count: Layout.adaptiveCount)
  var adaptiveSlot = [Int](repeating: 0, count: Layout.adaptiveCount)

  // Match model over everything coded so far in this stream.
  var history: [UInt8] = []
  var matchTable: [Int32]
  var matchPointer = 0
  var matchLength = 0

  /// States of the mapped inputs (static, adaptive, match), then the stretched inputs and a bias.
  var states = [UInt8](repeating: 0, count: Layout.mappedCount)
  var inputs = [Int32](repeating: 0, count: Layout.inputCount)
  var mixerSet = 0
  var mixer2Set = 0
  var probability1: UInt32 = 32768
  var probability2: UInt32 = 32768
  var probability: UInt32 = 32768
  /// Bytes coded in the current string.
  var position = 0

  // Position within the byte.
  var partial = 1  // 1, then the bits so far behind a leading 1
  var bitIndex = 0
  var node = 1  // the node within the current nibble's tree (1...15)
  // Byte history.
  var last4: UInt32 = 0
  var before4: UInt32 = 0
  var word: UInt32 = 0
  var previousWord: UInt32 = 0

  static let historyLimit = 1 << 20

  init(model: TextModel, rate: Int32 = Layout.codingRate) {
    self.model = model
    self.weights = model.weights
    self.rate = rate
    adaptive = [UInt8](repeating: 0, count: Layout.adaptiveCount << Layout.adaptiveBits)
    matchTable = [Int32](repeating: -1, count: 1 << Layout.matchBits)
    inputs[Layout.mappedCount] = 256
    startString()
  }

  /// Forget the stream (adaptive tables, match history); the mixer weights stay.
  mutating func resetStream() {
    for i in adaptive.indices { adaptive[i] = 0 }
    for i in matchTable.indices { matchTable[i] = -1 }
    history.removeAll(keepingCapacity: true)
    matchLength = 0
    matchPointer = 0
    startString()
  }

  /// The static contexts start afresh at each string.
  mutating func startString() {
    last4 = UInt32(Layout.endOfString)
    before4 = 0
    word = 0
    previousWord = 0
    partial = 1
    bitIndex = 0
    node = 1
    position = 0
    hashContexts()
    locateBlocks(tag: 0)
  }

  private mutating func hashContexts() {
    @inline(__always) func h(_ tag: UInt64, _ value: UInt64) -> UInt64 { TextHash.mix64(tag << 56 ^ value) }
    let wordContext = word == 0 ? UInt64(last4 & 0xFF) << 32 : UInt64(word)
    contextHash[0] = 0
    contextHash[1] = UInt64(last4 & 0xFF)
    contextHash[2] = h(2, UInt64(last4 & 0xFFFF))
    contextHash[3] = h(3, UInt64(last4 & 0xFF_FFFF))
    contextHash[4] = h(4, UInt64(last4))
    contextHash[5] = h(5, UInt64(before4 & 0xFFFF) << 32 | UInt64(last4))
    contextHash[6] = h(6, wordContext)
    contextHash[7] = h(7, UInt64(previousWord) << 32 | wordContext)
    adaptiveHash[0] = UInt32(truncatingIfNeeded: h(12, UInt64(last4 & 0xFFFF)) >> 32)
    adaptiveHash[1] = UInt32(truncatingIfNeeded: h(13, UInt64(last4 & 0xFF_FFFF)) >> 32)
    adaptiveHash[2] = UInt32(truncatingIfNeeded: h(14, UInt64(last4)) >> 32)
    adaptiveHash[3] = UInt32(truncatingIfNeeded: h(15, wordContext) >> 32)
  }

  /// Find each static context's block for the nibble: tag 0 for the high nibble, 1 + the high
  /// nibble for the low one. Orders 0 and 1 are indexed directly; the others are hashed.
  private mutating func locateBlocks(tag: Int) {
    let tables = model.tables
    for i in 0..<Layout.staticCount {
      let key: UInt64
      let index: Int
      let check: UInt8
      if i < 2 {
        key = contextHash[i] &* 17 &+ UInt64(tag)
        index = Int(key)
        check = 0
      } else {
        key = TextHash.mix64(contextHash[i] &+ UInt64(tag) &* 0x9E37_79B9_7F4A_7C15)
        index = Int(key >> UInt64(64 - Layout.staticBlockBits[i]))
        check = UInt8(truncatingIfNeeded: key)
      }
      blockKey[i] = key
      blockIndex[i] = index
      blockCheck[i] = check
      let base = model.tableOffsets[i] + index * 16
      blockBase[i] = tables[base] == check ? base : -1
    }
  }

  /// Fill `states`: the adaptive and match states always, the static ones from the model's
  /// tables when `staticFromTables` (the trainer supplies its own).
  @inline(__always)
  mutating func computeStates(staticFromTables: Bool) {
    let c0 = UInt32(partial)
    let node = self.node
    states.withUnsafeMutableBufferPointer { states in
      if staticFromTables {
        model.tables.withUnsafeBufferPointer { tables in
          blockBase.withUnsafeBufferPointer { blockBase in
            for i in 0..<Layout.staticCount {
              let base = blockBase[i]
              states[i] = base >= 0 ? tables[base + node] : 0
            }
          }
        }
      }
      adaptive.withUnsafeBufferPointer { adaptive in
        for j in 0..<Layout.adaptiveCount {
          let slot = (j << Layout.adaptiveBits)
            | Int((adaptiveHash[j] &+ c0 &* 0x9E37_79B1) >> UInt32(32 - Layout.adaptiveBits))
          adaptiveSlot[j] = slot
          states[Layout.staticCount + j] = adaptive[slot]
        }
      }
    }
    var matchState = 0
    if matchLength > 0 {
      let expected = Int(history[matchPointer]) | 0x100
      if expected >> (8 - bitIndex) == partial {
        let bit = (expected >> (7 - bitIndex)) & 1
        matchState = min(matchLength, Layout.matchMaxLength) * 2 + bit
      } else {
        matchLength = 0
      }
    }
    states[Layout.mappedCount - 1] = UInt8(matchState)
  }

  /// Mix the inputs into `probability`; with `mapsFromModel` the inputs are the model's state
  /// maps of `states` (otherwise the caller has filled `inputs`).
  @inline(__always)
  mutating func mix(mapsFromModel: Bool) -> UInt32 {
    if mapsFromModel {
      model.mapStretch.withUnsafeBufferPointer { maps in
        states.withUnsafeBufferPointer { states in
          inputs.withUnsafeMutableBufferPointer { inputs in
            for k in 0..<Layout.mappedCount {
              inputs[k] = Int32(maps[k << 8 | Int(states[k])])
            }
          }
        }
      }
    }
    mixerSet = partial * Layout.inputCount
    var order = 0
    if states[5] != 0 { order = 3 } else if states[4] != 0 { order = 2 } else if states[3] != 0 { order = 1 }
    let place = position < 8 ? 0 : position < 48 ? 1 : position < 160 ? 2 : 3
    let match = matchLength == 0 ? 0 : matchLength < 8 ? 1 : matchLength < 16 ? 2 : 3
    mixer2Set = (Layout.mixerSets + (place * 4 + match) * 4 + order) * Layout.inputCount
    var dot1: Int64 = 0
    var dot2: Int64 = 0
    let set1 = mixerSet, set2 = mixer2Set
    weights.withUnsafeBufferPointer { weights in
      inputs.withUnsafeBufferPointer { inputs in
        for k in 0..<Layout.inputCount {
          dot1 &+= Int64(weights[set1 + k]) &* Int64(inputs[k])
          dot2 &+= Int64(weights[set2 + k]) &* Int64(inputs[k])
        }
      }
    }
    let x1 = Int32(clamping: dot1 >> 16)
    let x2 = Int32(clamping: dot2 >> 16)
    probability1 = TextLogistic.squash(x1)
    probability2 = TextLogistic.squash(x2)
    probability = min(max(TextLogistic.squash((x1 + x2) >> 1), 32), 65504)
    return probability
  }

  /// Learn from the coded bit and move to the next one.
  @inline(__always)
  mutating func update(_ bit: Bool) {
    learn(bit)
    advance(bit)
  }

  /// Update the mixer and the adaptive states with the coded bit.
  @inline(__always)
  mutating func learn(_ bit: Bool) {
    let target: Int32 = bit ? 65536 : 0
    let e1 = ((target - Int32(probability1)) >> 4) &* rate
    let e2 = ((target - Int32(probability2)) >> 4) &* rate
    let set1 = mixerSet, set2 = mixer2Set
    weights.withUnsafeMutableBufferPointer { weights in
      inputs.withUnsafeBufferPointer { inputs in
        for k in 0..<Layout.inputCount {
          let w1 = weights[set1 + k] &+ ((inputs[k] &* e1) >> 14)
          weights[set1 + k] = min(max(w1, -(1 << 22)), 1 << 22)
          let w2 = weights[set2 + k] &+ ((inputs[k] &* e2) >> 14)
          weights[set2 + k] = min(max(w2, -(1 << 22)), 1 << 22)
        }
      }
    }
    adaptive.withUnsafeMutableBufferPointer { adaptive in
      for j in 0..<Layout.adaptiveCount {
        let slot = adaptiveSlot[j]
        adaptive[slot] = TextState.next(adaptive[slot], bit)
      }
    }
  }

  /// Move the contexts past the coded bit.
  @inline(__always)
  mutating func advance(_ bit: Bool) {
    partial = partial << 1 | (bit ? 1 : 0)
    node = node << 1 | (bit ? 1 : 0)
    bitIndex += 1
    if bitIndex == 4 {
      node = 1
      locateBlocks(tag: partial - 15)
    } else if bitIndex == 8 {
      let byte = UInt8(truncatingIfNeeded: partial)
      partial = 1
      bitIndex = 0
      node = 1
      byteCoded(byte)
    }
  }

  private mutating func byteCoded(_ byte: UInt8) {
    position += 1
    // Match model.
    if history.count < Self.historyLimit {
      if matchLength > 0 {
        if history[matchPointer] == byte {
          matchLength += 1
          matchPointer += 1
        } else {
          matchLength = 0
        }
      }
      history.append(byte)
      let n = history.count
      if n >= Layout.matchOrder {
        var h: UInt32 = 0
        for k in (n - Layout.matchOrder)..<n { h = (h &+ UInt32(history[k]) &+ 1) &* 0x2F0F_3D47 }
        let slot = Int(h >> UInt32(32 - Layout.matchBits))
        if matchLength == 0 {
          let candidate = Int(matchTable[slot])
          if candidate > 0 {
            var length = 0
            while length < 32 && candidate - 1 - length >= 0 && history[candidate - 1 - length] == history[n - 1 - length] {
              length += 1
            }
            if length >= Layout.matchOrder {
              matchLength = length
              matchPointer = candidate
            }
          }
        }
        matchTable[slot] = Int32(n)
      }
    } else {
      matchLength = 0
    }
    // Byte and word history.
    before4 = before4 << 8 | last4 >> 24
    last4 = last4 << 8 | UInt32(byte)
    switch byte {
    case 0x41...0x5A:
      word = (word &+ UInt32(byte | 0x20) &+ 1) &* 0x0100_0193
    case 0x61...0x7A, 0x80...0xFE:
      word = (word &+ UInt32(byte) &+ 1) &* 0x0100_0193
    default:
      if word != 0 {
        previousWord = word
        word = 0
      }
    }
    hashContexts()
    locateBlocks(tag: 0)
  }

  /// Code one byte (encoder side): predict, code and learn its 8 bits.
  @inline(__always)
  mutating func encode(_ byte: UInt8, to encoder: inout RangeEncoder) {
    for k in (0..<8).reversed() {
      let bit = (byte >> UInt8(k)) & 1 == 1
      computeStates(staticFromTables: true)
      encoder.encode(bit: bit, p1: mix(mapsFromModel: true))
      update(bit)
    }
  }

  /// Decode one byte.
  @inline(__always)
  mutating func decode(from decoder: inout RangeDecoder) -> UInt8 {
    var value = 0
    for _ in 0..<8 {
      computeStates(staticFromTables: true)
      let bit = decoder.decodeBit(p1: mix(mapsFromModel: true))
      update(bit)
      value = value << 1 | (bit ? 1 : 0)
    }
    return UInt8(value)
  }
}
