import Dispatch
import Foundation

/// Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
/// Networks", 2016) for square, undilated, ungrouped convolutions: each 2x2 block of outputs
/// ("tile") comes from the 4x4 input patch under it as Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, so that summed over
/// the input channels the products become 16 matrix products [outputs, inputs] x [inputs, tiles], one per
/// element of the 4x4 transformed tile: 16 multiply-adds per tile and channel pair instead of 36 (2.25x
/// fewer).
///
///     Bᵀ = | 1  0 -1  0 |    G = | 1    0    0   |    Aᵀ = | 1  1  1  0 |
///          | 0  1  1  0 |        | 1/2  1/2  1/2 |         | 0  1 -1 -1 |
///          | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
///          | 0  1  0 -1 |        | 0    0    1   |
///
/// A larger kernel is cut into 3x3 pieces (zero past its edge): a 5x5 one into four, each seeing the input
/// shifted by the piece's offset, as four times the input channels (64 multiply-adds per tile and channel
/// pair instead of 100, 1.56x fewer). A stride s > 1 becomes stride 1 over the input rearranged space to
/// depth (`spaceToDepth`: s² times the channels, a ⌈k/s⌉ kernel): AlexNet's 11x11 stride-4 conv1 is a 3x3
/// convolution over 48 channels (64 multiply-adds per tile against im2col's 4 x 121). The transforms'
/// coefficients are 0, ±1 and ±1/2, so the rounding error stays at the level of the direct sum's (below
/// 1e-6 of the output's scale in LayerTests).
///
/// Per call: the tiles are taken a block at a time (`blockTiles`), the block's inputs transformed into a
/// per-thread scratch buffer (`Scratch`), multiplied by the kernels transformed once per layer
/// (`transformedKernel`, kept by `Conv2d`) with 16 sgemms, and transformed back into the output with the bias.
enum Winograd {
  /// Tiles are transformed, multiplied and transformed back a block at a time: at least 256 tiles (the
  /// sgemm repacks the 16 kernels for every block), up to what 4 MB of scratch holds when the channels are
  /// few, the whole image when it is at most half a block more, and never more scratch than about 16 MB.
  static func blockTiles(_ shape: Shape) -> Int {
    let tiles = shape.tilesY * shape.tilesX
    let perTile = 16 * (shape.inputs + shape.outputs)
    var block = max(256, (1 << 20) / perTile)
    if tiles <= block * 3 / 2 { block = tiles }
    return max(1, min(tiles, block, max(32, (1 << 22) / perTile)))
  }

  /// Below this many tiles the 16 products are too narrow and im2col is faster (measured on one thread).
  static let minimumTiles = 32

  /// The kernels transformed, U = G g Gᵀ for every (output, input) pair and 3x3 piece of the kernel:
  /// [16, outputs, pieces² x inputs], element (i, j) of the 4x4 U at 4i + j, the virtual input channels
  /// ordered piece-major (piece (a, b) = rows 3a ..< 3a + 3, columns 3b ..< 3b + 3 of the kernel, zero past
  /// its edge). Computed in Double, rounded once.
  static func transformedKernel(_ weight: Tensor) -> [Float] {
    precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3] && weight.shape[2] >= 3, "Winograd F(2x2, 3x3) of a \(weight.shape) kernel")
    let (outputs, inputs, size) = (weight.shape[0], weight.shape[1], weight.shape[2])
    let pieces = (size + 2) / 3
    let depth = pieces * pieces * inputs
    return [Float](unsafeUninitializedCapacity: 16 * outputs * depth) { u, initialized in
      weight.scalars.withUnsafeBufferPointer { w in
        for o in 0..<outputs {
          for c in 0..<inputs {
            let kernel = w.baseAddress! + (o * inputs + c) * size * size
            for piece in 0..<pieces * pieces {
              let (y0, x0) = (3 * (piece / pieces), 3 * (piece % pieces))
              func g(_ y: Int, _ x: Int) -> Double {
                y0 + y < size && x0 + x < size ? Double(kernel[(y0 + y) * size + x0 + x]) : 0
              }
              // Column x of G g (4x3): column x of g, its rows combined.
              func column(_ x: Int) -> SIMD4<Double> {
                let (g0, g1, g2) = (g(0, x), g(1, x), g(2, x))
                return SIMD4(g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2)
              }
              // (G g) Gᵀ: the columns combined the same way; column j of U holds elements 4i + j.
              let index = o * depth + piece * inputs + c
              func put(_ j: Int, _ values: SIMD4<Double>) {
                for i in 0..<4 { u[(4 * i + j) * outputs * depth + index] = Float(values[i]) }
              }
              let (c0, c1, c2) = (column(0), column(1), column(2))
              put(0, c0)
              put(1, (c0 + c1 + c2) / 2)
              put(2, (c0 - c1 + c2) / 2)
              put(3, c2)
            }
          }
        }
      }
      initialized = 16 * outputs * depth
    }
  }

  /// The geometry of one convolution: input [channels, height, width], a square kernel of `kernel` taps cut
  /// into pieces x pieces pieces of 3x3, zero padding on every side, output [outputs, outHeight, outWidth] cut
  /// into tilesX x tilesY tiles of 2x2 (the last row and column of tiles overhang an odd output).
  struct Shape {
    let channels, outputs, height, width, kernel, padding: Int
    var pieces: Int { (kernel + 2) / 3 }
    /// The products' depth: each input channel once per piece of the kernel, shifted by the piece's offset.
    var inputs: Int { pieces * pieces * channels }
    var outHeight: Int { height + 2 * padding - kernel + 1 }
    var outWidth: Int { width + 2 * padding - kernel + 1 }
    var tilesY: Int { (outHeight + 1) / 2 }
    var tilesX: Int { (outWidth + 1) / 2 }
  }

  /// The raw pointers that the threads of one call share (they write disjoint parts).
  struct Buffers: @unchecked Sendable {
    let input: UnsafePointer<Float>
    let kernel: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let output: UnsafeMutablePointer<Float>
    /// [16, inputs, n] for the current block of n tiles.
    let transformed: UnsafeMutablePointer<Float>
    /// [16, outputs, n]
    let products: UnsafeMutablePointer<Float>
  }

  /// y = conv(x) + bias, for `kernel` from `transformedKernel`. Every output scalar is written.
  static func convolve(_ shape: Shape, input: UnsafePointer<Float>, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                       output: UnsafeMutablePointer<Float>) {
    let (inputs, outputs) = (shape.inputs, shape.outputs)
    let blockTiles = Self.blockTiles(shape)
    let transformedCount = 16 * inputs * blockTiles
    Scratch.withBuffer(count: 16 * (inputs + outputs) * blockTiles) { scratch in
      convolve(shape, input: input, kernel: kernel, bias: bias, output: output, blockTiles: blockTiles,
               transformed: scratch, products: scratch + transformedCount)
    }
  }

  /// `convolve` a block of `blockTiles` tiles at a time, in the scratch buffers `transformed` and `products`.
  private static func convolve(_ shape: Shape, input: UnsafePointer<Float>, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               output: UnsafeMutablePointer<Float>, blockTiles: Int,
                               transformed: UnsafeMutablePointer<Float>, products: UnsafeMutablePointer<Float>) {
    let (inputs, outputs) = (shape.inputs, shape.outputs)
    let tiles = shape.tilesY * shape.tilesX
    let buffers = Buffers(input: input, kernel: kernel, bias: bias, output: output, transformed: transformed, products: products)
    var first = 0
    while first < tiles {
      let n = min(blockTiles, tiles - first)
      let span = first..<first + n
      forChannelParts(inputs, tiles: n) { transformInput(shape, buffers, channels: $0, tiles: span) }
      for element in 0..<16 {
        Gemm.multiply(m: outputs, n: n, k: inputs, a: kernel + element * outputs * inputs, lda: inputs,
                      b: transformed + element * inputs * n, ldb: n, c: products + element * outputs * n, ldc: n)
      }
      forChannelParts(outputs, tiles: n) { transformOutput(shape, buffers, channels: $0, tiles: span) }
      first += n
    }
  }

  /// Runs `body` over `0..<channels`, split into parts on the BLAS threads when the block (16
  /// elements of `channels` x `tiles`) is large enough to pay, else in one call.
  private static func forChannelParts(_ channels: Int, tiles: Int, _ body: @Sendable (Range<Int>) -> Void) {
    let parts = 16 * channels * tiles >= 1 << 16 ? min(Gemm.threads, channels) : 1
    guard parts > 1 else { return body(0..<channels) }
    DispatchQueue.concurrentPerform(iterations: parts) { part in
      body(channels * part / parts..<channels * (part + 1) / parts)
    }
  }

  /// Calls `body(ty, tx0, count, offset)` for each run of tiles of `tiles` (flattened row-major) that lies on one
  /// row of tiles: tiles (ty, tx0 ..< tx0 + count), which are `offset ..< offset + count` within the block.
  @inline(__always)
  static func forEachRow(_ shape: Shape, _ tiles: Range<Int>, _ body: (Int, Int, Int, Int) -> Void) {
    var t = tiles.lowerBound
    while t < tiles.upperBound {
      let (ty, tx0) = t.quotientAndRemainder(dividingBy: shape.tilesX)
      let count = min(shape.tilesX - tx0, tiles.upperBound - t)
      body(ty, tx0, count, t - tiles.lowerBound)
      t += count
    }
  }

  /// V = Bᵀ d B for the tiles `tiles` of the virtual input channels `channels`, into `transformed`
  /// [16, inputs, tiles.count].
  static func transformInput(_ shape: Shape, _ buffers: Buffers, channels: Range<Int>, tiles: Range<Int>) {
    let (height, width, padding) = (shape.height, shape.width, shape.padding)
    let n = tiles.count
    let planeStride = shape.inputs * n
    // The four input rows under a row of tiles, split into even and odd padded columns: entry k of line r
    // holds padded columns 2(tx0 + k) (even) and 2(tx0 + k) + 1 (odd), so tile k's four columns are
    // even[k], odd[k], even[k + 1], odd[k + 1].
    let lineLength = shape.tilesX + 1
    let lines = UnsafeMutablePointer<Float>.allocate(capacity: 8 * lineLength)
    defer { lines.deallocate() }
    let (e0, e1, e2, e3) = (lines, lines + lineLength, lines + 2 * lineLength, lines + 3 * lineLength)
    let (o0, o1, o2, o3) = (lines + 4 * lineLength, lines + 5 * lineLength, lines + 6 * lineLength, lines + 7 * lineLength)
    for c in channels {
      // Virtual channel c: input channel c % channels, under the kernel's piece c / channels.
      let (piece, channel) = c.quotientAndRemainder(dividingBy: shape.channels)
      let (dy, dx) = (3 * (piece / shape.pieces) - padding, 3 * (piece % shape.pieces) - padding)
      let plane = buffers.input + channel * height * width
      forEachRow(shape, tiles) { ty, tx0, count, offset in
        for r in 0..<4 {
          splitRow(plane, row: 2 * ty + dy + r, height: height, width: width, start: 2 * tx0 + dx, entries: count + 1,
                   even: lines + r * lineLength, odd: lines + (4 + r) * lineLength)
        }
        let v = buffers.transformed + c * n + offset
        // Bᵀ d (rows combined), then (Bᵀ d) B (columns combined), eight tiles at a time; a last partial group
        // redoes some of the previous one.
        @inline(__always) func tiles8(_ k: Int) {
          @inline(__always) func rows(_ k: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
            let (a0, a1, a2, a3) = (load(e0 + k), load(e1 + k), load(e2 + k), load(e3 + k))
            let (b0, b1, b2, b3) = (load(o0 + k), load(o1 + k), load(o2 + k), load(o3 + k))
            return (a0 - a2, a1 + a2, a2 - a1, a1 - a3, b0 - b2, b1 + b2, b2 - b1, b1 - b3)
          }
          let (p0, p1, p2, p3, q0, q1, q2, q3) = rows(k)
          let (pn0, pn1, pn2, pn3, qn0, qn1, qn2, qn3) = rows(k + 1)
          // Row i of the tile: columns p[k], q[k], p[k + 1], q[k + 1] combined.
          @inline(__always) func put(_ i: Int, _ p: SIMD8<Float>, _ q: SIMD8<Float>, _ pn: SIMD8<Float>, _ qn: SIMD8<Float>) {
            let base = v + 4 * i * planeStride + k
            store(p - pn, base)
            store(q + pn, base + planeStride)
            store(pn - q, base + 2 * planeStride)
            store(q - qn, base + 3 * planeStride)
          }
          put(0, p0, q0, pn0, qn0)
          put(1, p1, q1, pn1, qn1)
          put(2, p2, q2, pn2, qn2)
          put(3, p3, q3, pn3, qn3)
        }
        if count >= 8 {
          var k = 0
          while k + 8 <= count {
            tiles8(k)
            k += 8
          }
          if k < count { tiles8(count - 8) }
        } else {
          for k in 0..<count {
            let (p0, p1, p2, p3) = (e0[k] - e2[k], e1[k] + e2[k], e2[k] - e1[k], e1[k] - e3[k])
            let (q0, q1, q2, q3) = (o0[k] - o2[k], o1[k] + o2[k], o2[k] - o1[k], o1[k] - o3[k])
            let j = k + 1
            let (pn0, pn1, pn2, pn3) = (e0[j] - e2[j], e1[j] + e2[j], e2[j] - e1[j], e1[j] - e3[j])
            let (qn0, qn1, qn2, qn3) = (o0[j] - o2[j], o1[j] + o2[j], o2[j] - o1[j], o1[j] - o3[j])
            @inline(__always) func put(_ i: Int, _ p: Float, _ q: Float, _ pn: Float, _ qn: Float) {
              let base = v + 4 * i * planeStride + k
              base[0] = p - pn
              base[planeStride] = q + pn
              base[2 * planeStride] = pn - q
              base[3 * planeStride] = q - qn
            }
            put(0, p0, q0, pn0, qn0)
            put(1, p1, q1, pn1, qn1)
            put(2, p2, q2, pn2, qn2)
            put(3, p3, q3, pn3, qn3)
          }
        }
      }
    }
  }

  /// Entries 0 ..< entries of the even and odd columns of input row `row` from padded column `start`
  /// (entry k: columns start + 2k and start + 2k + 1), zero outside the image.
  @inline(__always)
  static func splitRow(_ plane: UnsafePointer<Float>, row: Int, height: Int, width: Int, start: Int, entries: Int,
                       even: UnsafeMutablePointer<Float>, odd: UnsafeMutablePointer<Float>) {
    guard row >= 0 && row < height else {
      even.update(repeating: 0, count: entries)
      odd.update(repeating: 0, count: entries)
      return
    }
    let line = plane + row * width
    // Entries whose two columns both lie inside the row.
    let low = start >= 0 ? 0 : min(entries, (-start + 1) / 2)
    let high = max(low, min(entries, max(0, width - start) / 2))
    @inline(__always) func edge(_ k: Int) {
      let ix = start + 2 * k
      even[k] = ix >= 0 && ix < width ? line[ix] : 0
      odd[k] = ix + 1 >= 0 && ix + 1 < width ? line[ix + 1] : 0
    }
    for k in 0..<low { edge(k) }
    let source = line + start
    @inline(__always) func split8(_ k: Int) {
      let pair = UnsafeRawPointer(source + 2 * k).loadUnaligned(as: SIMD16<Float>.self)
      store(pair.evenHalf, even + k)
      store(pair.oddHalf, odd + k)
    }
    var k = low
    while k + 8 <= high {
      split8(k)
      k += 8
    }
    // The last partial group redoes part of the previous one.
    if k < high && high - low >= 8 {
      split8(high - 8)
      k = high
    }
    while k < high {
      even[k] = source[2 * k]
      odd[k] = source[2 * k + 1]
      k += 1
    }
    for k in high..<entries { edge(k) }
  }

  /// Y = Aᵀ M A + bias for the tiles `tiles` of the output channels `channels`, from `products`
  /// [16, outputs, tiles.count]; the overhang of the last tile row and column is dropped.
  static func transformOutput(_ shape: Shape, _ buffers: Buffers, channels: Range<Int>, tiles: Range<Int>) {
    let (outHeight, outWidth) = (shape.outHeight, shape.outWidth)
    let n = tiles.count
    let planeStride = shape.outputs * n
    // Two output rows of a row of tiles, then copied (without the overhang) into the output.
    let rows = UnsafeMutablePointer<Float>.allocate(capacity: 4 * shape.tilesX)
    defer { rows.deallocate() }
    let (top, bottom) = (rows, rows + 2 * shape.tilesX)
    for o in channels {
      let b = buffers.bias?[o] ?? 0
      let plane = buffers.output + o * outHeight * outWidth
      forEachRow(shape, tiles) { ty, tx0, count, offset in
        let m = buffers.products + o * n + offset
        // Aᵀ M (rows combined), then (Aᵀ M) A (columns combined) + bias, eight tiles at a time.
        @inline(__always) func tiles8(_ k: Int) {
          @inline(__always) func column(_ j: Int) -> (SIMD8<Float>, SIMD8<Float>) {
            let (a0, a1, a2, a3) = (load(m + j * planeStride + k), load(m + (4 + j) * planeStride + k),
                                    load(m + (8 + j) * planeStride + k), load(m + (12 + j) * planeStride + k))
            return (a0 + a1 + a2, a1 - a2 - a3)
          }
          let (s00, s10) = column(0), (s01, s11) = column(1), (s02, s12) = column(2), (s03, s13) = column(3)
          let bias = SIMD8<Float>(repeating: b)
          var pair = SIMD16<Float>()
          pair.evenHalf = s00 + s01 + s02 + bias
          pair.oddHalf = s01 - s02 - s03 + bias
          UnsafeMutableRawPointer(top + 2 * k).storeBytes(of: pair, as: SIMD16<Float>.self)
          pair.evenHalf = s10 + s11 + s12 + bias
          pair.oddHalf = s11 - s12 - s13 + bias
          UnsafeMutableRawPointer(bottom + 2 * k).storeBytes(of: pair, as: SIMD16<Float>.self)
        }
        var k = 0
        while k + 8 <= count {
          tiles8(k)
          k += 8
        }
        if k < count && count >= 8 {
          tiles8(count - 8)
        } else {
          while k < count {
            @inline(__always) func column(_ j: Int) -> (Float, Float) {
              let (a0, a1, a2, a3) = (m[j * planeStride + k], m[(4 + j) * planeStride + k],
                                      m[(8 + j) * planeStride + k], m[(12 + j) * planeStride + k])
              return (a0 + a1 + a2, a1 - a2 - a3)
            }
            let (s00, s10) = column(0), (s01, s11) = column(1), (s02, s12) = column(2), (s03, s13) = column(3)
            top[2 * k] = s00 + s01 + s02 + b
            top[2 * k + 1] = s01 - s02 - s03 + b
            bottom[2 * k] = s10 + s11 + s12 + b
            bottom[2 * k + 1] = s11 - s12 - s13 + b
            k += 1
          }
        }
        let x0 = 2 * tx0
        let columns = min(2 * count, outWidth - x0)
        (plane + 2 * ty * outWidth + x0).update(from: top, count: columns)
        if 2 * ty + 1 < outHeight {
          (plane + (2 * ty + 1) * outWidth + x0).update(from: bottom, count: columns)
        }
      }
    }
  }

  @inline(__always)
  static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

  @inline(__always)
  static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

  @inline(__always)
  static func store(_ value: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD8<Float>.self)
  }
}

/// The kernel Winograd multiplies by, for one convolution: its weight (rearranged for a strided convolution,
/// `Winograd.spaceToDepth`), transformed on first use and kept (shared by copies of the layer).
final class WinogradKernel: @unchecked Sendable {
  /// [outputs, inputs x block², kernel, kernel]: the stride-1 convolution that Winograd computes.
  let weight: Tensor
  /// The stride of the convolution, which becomes the block of the space-to-depth rearrangement (1: none).
  let block: Int
  private let lock = NSLock()
  private var cached: [Float]?

  init(weight: Tensor, block: Int) {
    (self.weight, self.block) = (weight, block)
  }

  /// `Winograd.transformedKernel(weight)`.
  var transformed: [Float] {
    lock.lock()
    defer { lock.unlock() }
    if let cached { return cached }
    let kernel = Winograd.transformedKernel(weight)
    cached = kernel
    return kernel
  }
}

extension Winograd {
  /// A stride-s convolution with a k x k kernel as a stride-1 one with a ⌈k/s⌉ x ⌈k/s⌉ kernel over s² times the
  /// channels: input channel (c, u, v) of the rearranged image holds the padded input's samples
  /// (s·i + u, s·j + v) of channel c, and kernel tap (a, b) of (c, u, v) is tap (s·a + u, s·b + v) of c (zero
  /// past the kernel). [outputs, inputs, k, k] -> [outputs, inputs·s², ⌈k/s⌉, ⌈k/s⌉]
  static func spaceToDepth(weight: Tensor, block s: Int) -> Tensor {
    let (outputs, inputs, size) = (weight.shape[0], weight.shape[1], weight.shape[2])
    let reduced = (size + s - 1) / s
    return Tensor(shape: [outputs, inputs * s * s, reduced, reduced]) { out in
      var index = 0
      for o in 0..<outputs { for c in 0..<inputs { for u in 0..<s { for v in 0..<s { for a in 0..<reduced { for b in 0..<reduced {
        let (ky, kx) = (s * a + u, s * b + v)
        out[index] = ky < size && kx < size ? weight.scalars[((o * inputs + c) * size + ky) * size + kx] : 0
        index += 1
      } } } } } }
    }
  }

  /// The input rearranged the same way, with the convolution's padding applied: [inputs, height, width] ->
  /// [inputs·s², ⌈(height + 2·padding) / s⌉, ⌈(width + 2·padding) / s⌉], zero outside the image.
  static func spaceToDepth(_ x: Tensor, block s: Int, padding: Int) -> Tensor {
    let (channels, height, width) = (x.shape[0], x.shape[1], x.shape[2])
    let (rows, columns) = ((height + 2 * padding + s - 1) / s, (width + 2 * padding + s - 1) / s)
    return Tensor(shape: [channels * s * s, rows, columns]) { out in
      x.scalars.withUnsafeBufferPointer { src in
        for c in 0..<channels {
          for u in 0..<s {
            for v in 0..<s {
              let plane = out.baseAddress! + ((c * s + u) * s + v) * rows * columns
              // Columns j whose sample s·j + v − padding lies inside the row.
              let start = v - padding
              let low = start >= 0 ? 0 : min(columns, (-start + s - 1) / s)
              let high = max(low, min(columns, width - start <= 0 ? 0 : (width - 1 - start) / s + 1))
              for i in 0..<rows {
                let line = plane + i * columns
                let iy = s * i + u - padding
                guard iy >= 0 && iy < height else {
                  line.update(repeating: 0, count: columns)
                  continue
                }
                let source = src.baseAddress! + (c * height + iy) * width + start
                line.update(repeating: 0, count: low)
                for j in low..<high { line[j] = source[s * j] }
                (line + high).update(repeating: 0, count: columns - high)
              }
            }
          }
        }
      }
    }
  }
}
