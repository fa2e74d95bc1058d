/// Integer coverage weights for one axis of an area resize.
///
/// Measured in units of 1/outputSize of a source pixel: output `o` spans
/// [o * inputSize, (o + 1) * inputSize) and source pixel `i` spans [i * outputSize, (i + 1) * outputSize).
/// The weights of one output always sum to `inputSize`.
struct AreaWeights {
  /// The first source index contributing to each output.
  var first: [Int] = []
  /// `weights[offsets[o]..<offsets[o + 1]]` are output o's weights, from source `first[o]` on.
  var offsets: [Int] = [0]
  var weights: [Int] = []

  init(inputSize: Int, outputSize: Int) {
    first.reserveCapacity(outputSize)
    offsets.reserveCapacity(outputSize + 1)
    for o in 0..<outputSize {
      let start = o * inputSize, end = start + inputSize
      let firstSource = start / outputSize
      let lastSource = (end - 1) / outputSize
      first.append(firstSource)
      for i in firstSource...lastSource {
        let overlap = min(end, (i + 1) * outputSize) - max(start, i * outputSize)
        weights.append(overlap)
      }
      offsets.append(weights.count)
    }
  }
}
