import Foundation
import Testing
@testable import MISCCoding

/// A deterministic photo-like test image: smooth gradients, an edge, a textured patch and noise.
private func syntheticImage(width: Int, height: Int, seed: UInt64 = 1) -> [UInt8] {
  var state = seed
  func noise() -> Int {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Int((state >> 33) % 17) - 8
  }
  var rgb = [UInt8](repeating: 0, count: width * height * 3)
  for y in 0..<height {
    for x in 0..<width {
      let u = Double(x) / Double(max(width - 1, 1)), v = Double(y) / Double(max(height - 1, 1))
      var r = 60 + 140 * u, g = 90 + 100 * v, b = 160 - 80 * u * v
      if u + 0.6 * v > 0.9 { r -= 50; g += 30 }  // an oblique edge
      if u > 0.2 && u < 0.55 && v > 0.5 { let t = 30 * sin(Double(x) * 1.7) * cos(Double(y) * 1.1); r += t; g += t; b -= t }
      let n = noise()
      let values = [r + Double(n), g + Double(n / 2), b - Double(n)]
      for c in 0..<3 { rgb[(y * width + x) * 3 + c] = UInt8(min(max(values[c].rounded(), 0), 255)) }
    }
  }
  return rgb
}

private func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
  var se = 0.0
  for i in a.indices { let d = Double(a[i]) - Double(b[i]); se += d * d }
  return se == 0 ? 99 : 10 * log10(255 * 255 * Double(a.count) / se)
}

/// Square sizes 1...40, then odd, rectangular and extreme-aspect sizes up to the maximum.
private let roundTripSizes: [(Int, Int)] = (1...40).map { ($0, $0) } + [
  (8, 5), (5, 8), (1, 256), (256, 1), (2, 255), (3, 97), (63, 64), (64, 63), (65, 65), (77, 41), (100, 7),
  (127, 129), (128, 128), (150, 99), (191, 256), (255, 255), (256, 256),
]

@Suite struct ThumbnailCodecTests {
  @Test func roundTripIsDeterministicAtEverySize() throws {
    for (width, height) in roundTripSizes {
      let rgb = syntheticImage(width: width, height: height, seed: UInt64(width * 1000 + height))
      for quality in [0, 37, ThumbnailCodec.qualityLevels - 1] {
        let bytes = ThumbnailCodec.encode(rgb: rgb, width: width, height: height, quality: quality)
        #expect(bytes == ThumbnailCodec.encode(rgb: rgb, width: width, height: height, quality: quality), "\(width)x\(height)")
        let decoded = try ThumbnailCodec.decode(bytes, width: width, height: height)
        #expect(decoded.count == rgb.count)
        #expect(try ThumbnailCodec.decode(bytes, width: width, height: height) == decoded, "\(width)x\(height) q\(quality)")
        if quality == ThumbnailCodec.qualityLevels - 1 {
          #expect(psnr(rgb, decoded) > 30, "\(width)x\(height) at top quality: \(psnr(rgb, decoded)) dB")
        }
      }
    }
  }

  /// The thumbnail shares one range coder with the other layers: it must consume exactly its part.
  @Test func sharesTheStreamWithOtherLayers() throws {
    for (width, height) in [(8, 5), (32, 32), (61, 47)] {
      let rgb = syntheticImage(width: width, height: height)
      var encoder = RangeEncoder()
      var before = AdaptiveBit(), after = AdaptiveBit()
      before.encode(true, to: &encoder)
      ThumbnailCodec.encode(rgb: rgb, width: width, height: height, quality: 30, to: &encoder)
      for k in 0..<50 { after.encode(k % 3 == 0, to: &encoder) }
      encoder.encodeBits(0xBEEF, count: 16)
      let bytes = encoder.finish()

      var decoder = RangeDecoder(bytes)
      before = AdaptiveBit(); after = AdaptiveBit()
      let first = before.decode(from: &decoder)
      #expect(first)
      let shared = try ThumbnailCodec.decode(width: width, height: height, from: &decoder)
      for k in 0..<50 {
        let bit = after.decode(from: &decoder)
        #expect(bit == (k % 3 == 0))
      }
      let tail = decoder.decodeBits(count: 16)
      #expect(tail == 0xBEEF)
      let alone = ThumbnailCodec.encode(rgb: rgb, width: width, height: height, quality: 30)
      #expect(try ThumbnailCodec.decode(alone, width: width, height: height) == shared)
    }
  }

  /// More bytes never buy a much worse picture. "More" means at least 2 bytes more: the range
  /// coder's flush ends a stream on a byte boundary with the most trailing zeros, so two streams
  /// of nearly equal information can come out a byte apart either way (at 16² the q15 stream
  /// happens to end a byte shorter than q9…q14's).
  @Test(arguments: [16, 32, 64])
  func qualityIsMonotone(side: Int) throws {
    let rgb = syntheticImage(width: side, height: side, seed: 9)
    var points: [(bytes: Int, psnr: Double)] = []
    for quality in 0..<ThumbnailCodec.qualityLevels {
      let bytes = ThumbnailCodec.encode(rgb: rgb, width: side, height: side, quality: quality)
      points.append((bytes.count, psnr(rgb, try ThumbnailCodec.decode(bytes, width: side, height: side))))
    }
    for i in points.indices {
      for j in points.indices where points[j].bytes > points[i].bytes + 1 {
        #expect(points[j].psnr >= points[i].psnr - 0.5, "\(side)²: \(points[j]) vs \(points[i])")
      }
    }
    #expect(points.last!.bytes > points.first!.bytes * 4)
  }

  @Test func hostilePayloadsNeverCrash() throws {
    var rng = SplitMix64(seed: 42)
    for (width, height) in [(32, 32), (7, 5), (1, 1), (256, 3)] {
      let real = ThumbnailCodec.encode(rgb: syntheticImage(width: width, height: height), width: width, height: height, quality: 40)
      var payloads: [[UInt8]] = [[], [0xFF], [UInt8](repeating: 0xFF, count: 600), [UInt8](repeating: 0, count: 600)]
      for _ in 0..<40 { payloads.append((0..<Int.random(in: 1..<400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
      for cut in stride(from: 0, to: real.count, by: max(1, real.count / 20)) { payloads.append(Array(real.prefix(cut))) }
      for _ in 0..<60 {
        var flipped = real
        let bit = Int.random(in: 0..<(real.count * 8), using: &rng)
        flipped[bit / 8] ^= UInt8(1 << (bit % 8))
        payloads.append(flipped)
      }
      for payload in payloads {
        do {
          let image = try ThumbnailCodec.decode(payload, width: width, height: height)
          #expect(image.count == width * height * 3)
        } catch is CodingError {
          // a clear error is the other acceptable outcome
        }
      }
    }
    #expect(throws: CodingError.self) { try ThumbnailCodec.decode([1, 2, 3], width: 65536, height: 4) }
    #expect(throws: CodingError.self) { try ThumbnailCodec.decode([1, 2, 3], width: 257, height: 4, profile: .version3) }
    #expect(throws: CodingError.self) { try ThumbnailCodec.decode([1, 2, 3], width: 0, height: 4) }
  }

  /// Huge decoded coefficients are rejected or clamped, never overflow.
  @Test func extremeCoefficientsAreBounded() throws {
    for fill: UInt8 in [0x7F, 0xAA, 0xFE] {
      _ = try? ThumbnailCodec.decode([UInt8](repeating: fill, count: 4000), width: 256, height: 256)
    }
  }

  @Test func priorTableMatchesTheModels() {
    #expect(ThumbnailPriors.table.count == ThumbnailPriors.buckets * CoefficientCoder.modelCount)
    #expect(ThumbnailPriorsVersion2.table.count == ThumbnailPriorsVersion2.buckets * CoefficientCoder.ModelGroup.version2.reduce(0) { $0 + $1.count })
  }

  @Test func waveletInvertsAlmostExactly() {
    var rng = SplitMix64(seed: 3)
    for (width, height) in [(1, 1), (2, 3), (17, 9), (64, 64)] {
      let original = (0..<(width * height)).map { _ in Int.random(in: -4080...4080, using: &rng) }
      var data = original
      let levels = SubbandLayout.defaultLevels(width: width, height: height)
      Wavelet97.forward(&data, width: width, height: height, levels: levels)
      Wavelet97.inverse(&data, width: width, height: height, levels: levels)
      let worst = zip(original, data).map { abs($0 - $1) }.max() ?? 0
      #expect(worst <= 8, "\(width)x\(height): error \(worst) in 1/16 levels")
    }
  }

  @Test func pixelPathRoundTrips() throws {
    let rgb = syntheticImage(width: 16, height: 16)
    let bytes = PixelThumbnailCodec.encode(rgb: rgb, width: 16, height: 16)
    #expect(bytes.count == 480)  // the paper's 16×16 at 5 bits a channel
    let decoded = try PixelThumbnailCodec.decode(bytes, width: 16, height: 16)
    #expect(zip(rgb, decoded).allSatisfy { abs(Int($0) - Int($1)) <= 4 })
    #expect(throws: CodingError.self) { try PixelThumbnailCodec.decode(Array(bytes.dropLast()), width: 16, height: 16) }
  }
}

@Suite struct ThumbnailAnalysisAndMixerTests {
  /// A rate search codes one analysis at many qualities; it must write exactly what coding the
  /// pixels writes.
  @Test func analysedThumbnailsCodeLikePixels() throws {
    let rgb = syntheticImage(width: 48, height: 32, seed: 4)
    let analysis = ThumbnailCodec.analyse(rgb: rgb, width: 48, height: 32)
    let prefix = try Container.Prefix(Container.Contents(width: 768, height: 512, level: 1))
    let thumbnail = Container.Thumbnail(width: 48, height: 32, rgb: rgb)
    for quality in [0, 17, 40, 63] {
      var direct = RangeEncoder(), analysed = RangeEncoder()
      ThumbnailCodec.encode(rgb: rgb, width: 48, height: 32, quality: quality, to: &direct)
      ThumbnailCodec.encode(analysis, quality: quality, to: &analysed)
      #expect(direct.finish() == analysed.finish())
      #expect(prefix.finish(thumbnail: thumbnail, quality: quality).bytes == prefix.finish(analysed: analysis, quality: quality).bytes)
    }
  }

  /// The rate search's λ factor is an encoder choice: any factor writes a stream that decodes
  /// to the encoder's reconstruction, a factor of 1 is the reference encoder, and a larger
  /// factor writes fewer bytes.
  @Test func lambdaFactorOnlyChangesTheEncodersChoices() throws {
    let rgb = syntheticImage(width: 96, height: 64, seed: 9)
    let analysis = ThumbnailCodec.analyse(rgb: rgb, width: 96, height: 64)
    let prefix = try Container.Prefix(Container.Contents(width: 960, height: 640, level: 1))
    for quality in [5, 30, 50] {
      #expect(prefix.finishWithLevels(analysed: analysis, quality: quality, lambdaFactor: 1).encoded.bytes
              == prefix.finish(analysed: analysis, quality: quality).bytes)
      var sizes: [Int] = []
      for factor in [0.5, 0.77, 1, 1.5, 3] {
        let (file, levels) = prefix.finishWithLevels(analysed: analysis, quality: quality, lambdaFactor: factor)
        #expect(try Container.decode(file.bytes).contents.thumbnail?.rgb == levels?.reconstruction(), "q\(quality) λ×\(factor)")
        sizes.append(file.bytes.count)
      }
      #expect(sizes.first! > sizes.last!, "q\(quality): \(sizes)")
    }
  }

  /// The rate proxy grows with the quality, is zero for a flat thumbnail (no detail to code),
  /// and tracks the coded bytes within the spread the rate search allows for.
  @Test func rateProxyFollowsTheCodedSize() throws {
    let analysis = ThumbnailCodec.analyse(rgb: syntheticImage(width: 128, height: 96, seed: 3), width: 128, height: 96)
    let proxy = ThumbnailCodec.RateProxy(analysis)
    #expect(proxy.values.count == ThumbnailCodec.qualityLevels)
    #expect(zip(proxy.values, proxy.values.dropFirst()).allSatisfy { $0 <= $1 })
    let flat = ThumbnailCodec.RateProxy(ThumbnailCodec.analyse(rgb: [UInt8](repeating: 90, count: 32 * 32 * 3), width: 32, height: 32))
    #expect(flat.values.allSatisfy { $0 == 0 })
    // Bits per unit of the proxy stay within a factor of 2 of the typical value wherever the
    // detail coefficients, not the stream's fixed parts, make most of the bytes.
    var checked = 0
    for quality in stride(from: 10, through: 60, by: 10) {
      let bits = Double(ThumbnailCodec.encode(rgb: syntheticImage(width: 128, height: 96, seed: 3), width: 128, height: 96,
                                              quality: quality).count * 8)
      guard bits > 2000 else { continue }
      checked += 1
      let ratio = bits / proxy.values[quality] / ThumbnailCodec.RateProxy.bitsPerUnit
      #expect(ratio > 0.5 && ratio < 2, "q\(quality): \(bits) bits for proxy \(proxy.values[quality])")
    }
    #expect(checked >= 3)
  }

  /// Rate control scores a candidate by the encoder's own reconstruction instead of decoding
  /// it: that must be the decoder's output, pixel for pixel.
  @Test func encoderReconstructionIsTheDecodersOutput() throws {
    for (width, height) in [(1, 1), (7, 5), (48, 32), (64, 64), (97, 65), (256, 171)] {
      let rgb = syntheticImage(width: width, height: height, seed: UInt64(width + height))
      let analysis = ThumbnailCodec.analyse(rgb: rgb, width: width, height: height)
      let prefix = try Container.Prefix(Container.Contents(width: width * 3, height: height * 3, level: 1))
      for quality in [0, 9, 30, 63] {
        var encoder = RangeEncoder()
        let levels = ThumbnailCodec.encode(analysis, quality: quality, to: &encoder)
        let decoded = try ThumbnailCodec.decode(encoder.finish(), width: width, height: height)
        #expect(levels.reconstruction() == decoded, "\(width)x\(height) q\(quality)")
        let (file, fileLevels) = prefix.finishWithLevels(analysed: analysis, quality: quality)
        #expect(file.bytes == prefix.finish(analysed: analysis, quality: quality).bytes)
        #expect(try Container.decode(file.bytes).contents.thumbnail?.rgb == fileLevels?.reconstruction())
      }
    }
  }

  /// Version 3 streams use the gradient contexts and version 2 streams do not: the same levels
  /// code to different bytes, and each stream decodes only under its own layout.
  @Test func formatVersionSelectsTheGradientContexts() throws {
    let rgb = syntheticImage(width: 64, height: 48, seed: 9)
    let analysis = ThumbnailCodec.analyse(rgb: rgb, width: 64, height: 48)
    var streams: [Int: [UInt8]] = [:]
    for version in [2, 3] {
      var encoder = RangeEncoder()
      _ = ThumbnailCodec.encode(analysis, quality: 30, to: &encoder,
                                coder: ThumbnailCodec.initialCoder(quality: 30, profile: try FormatProfile.forVersion(version).thumbnail))
      streams[version] = encoder.finish()
    }
    let two = try #require(streams[2]), three = try #require(streams[3])
    #expect(two != three)
    var decoder = RangeDecoder(two)
    let decoded2 = try ThumbnailCodec.decode(width: 64, height: 48, from: &decoder, profile: .version2)
    decoder = RangeDecoder(three)
    let decoded3 = try ThumbnailCodec.decode(width: 64, height: 48, from: &decoder, profile: .version3)
    #expect(psnr(rgb, decoded2) > 25 && psnr(rgb, decoded3) > 25)
    decoder = RangeDecoder(three)
    let misread = try? ThumbnailCodec.decode(width: 64, height: 48, from: &decoder, profile: .version2)
    #expect(misread != decoded3, "a version-3 stream read as version 2 must not come out right")
  }

  /// The mixer starts from its initial weights and learns to trust the input that predicts.
  @Test func mixerLearnsWhichInputPredicts() {
    var mixer = LogisticMixer(sets: 2, initial: [32768, 32768])
    #expect(mixer.weights == [32768, 32768, 0, 0, 32768, 32768, 0, 0])
    var state: UInt64 = 7
    for _ in 0..<4000 {
      state = state &* 6364136223846793005 &+ 1442695040888963407
      let bit = state >> 63 == 1
      let informative: UInt32 = bit ? 60000 : 5536  // always leans the right way
      let noise: UInt32 = (state >> 20) & 1 == 1 ? 60000 : 5536  // unrelated to the bit
      let (a, b) = (LogisticMixer.stretch(informative), LogisticMixer.stretch(noise))
      let p = mixer.mix(set: 1, a, b)
      #expect((32...65504).contains(p))
      mixer.update(set: 1, bit, p, a, b)
    }
    #expect(mixer.weights[4] > 60000 && abs(Int(mixer.weights[5])) < 20000, "\(mixer.weights)")
    #expect(mixer.weights[6] == 0 && mixer.weights[7] == 0, "inputs held at p = 1/2 (stretch 0) never move")
    #expect(Array(mixer.weights[0..<4]) == [32768, 32768, 0, 0])  // other sets untouched
    let strong = LogisticMixer.stretch(60000), half = LogisticMixer.stretchedHalf
    #expect(mixer.mix(set: 1, strong, half) > mixer.mix(set: 0, strong, half))
  }
}
