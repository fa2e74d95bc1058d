import Dispatch

/// A 2-D convolution as PyTorch's `nn.Conv2d` stores and computes it (cross-correlation, zero padding),
/// on one image of [channels, height, width].
///
/// Two algorithms (`algorithm`, chosen per layer by measurement, docs/METRICS.md):
/// - Winograd F(2x2, 3x3) (Winograd.swift) for the undilated, ungrouped convolutions with square kernels where
///   it needs at most 2/3 of im2col's multiply-adds and sees at least 8 input channels: 3x3 and 5x5 at stride
///   1 (VGG16 but its first layer, AlexNet's conv2 to conv5, CLIP RN50's 3x3 convolutions), and AlexNet's
///   11x11 stride-4 conv1 as a 3x3 stride-1 convolution over the space-to-depth rearranged input (48
///   channels). 2.25x fewer multiply-adds for 3x3, 1.56x for 5x5 (four 3x3 pieces), 1.9x for AlexNet's conv1;
///   16 sgemms over blocks of 2x2 output tiles. The transformed kernel (16/9 of the weight's size for 3x3,
///   64/25 for 5x5) is computed on the first call and kept; `weight` stays as loaded. On images of fewer than
///   32 tiles (9x9 outputs or smaller) it gives way to im2col, which is faster there.
/// - im2col + one sgemm per group and block of output rows, for everything else: the column buffer is
///   bounded (about 16 MB) whatever the image size. A 1x1, stride-1, unpadded convolution multiplies the
///   input directly.
///
/// Both write every output scalar without zero-filling it first, and keep their scratch buffer per thread
/// between calls (`Scratch`). Winograd's results differ from im2col's by rounding only (below 1e-6 of the
/// output's scale in LayerTests).
public struct Conv2d: Sendable {
  /// [outputs, inputs / groups, kernelHeight, kernelWidth]
  public let weight: Tensor
  /// [outputs], or nil for a convolution without bias.
  public let bias: Tensor?
  public let stride: Int
  /// Zeros added on every side.
  public let padding: Int
  public let dilation: Int
  public let groups: Int
  /// How `callAsFunction(_:)` computes this layer (on images of at least 32 tiles: `algorithm(height:width:)`).
  public let algorithm: Algorithm
  /// The kernel of the Winograd path, where it applies (transformed on first use).
  private let winogradKernel: WinogradKernel?

  /// How a convolution is computed.
  public enum Algorithm: Sendable, Hashable {
    /// im2col + sgemm (any convolution).
    case im2col
    /// Winograd F(2x2, 3x3) (larger kernels in 3x3 pieces, strides through space-to-depth): square kernels
    /// with ⌈kernel / stride⌉ ≥ 3, dilation 1, one group.
    case winograd
  }

  public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
    precondition(weight.rank == 4, "convolution weight must be rank 4 [outputs, inputs/groups, kh, kw], got \(weight.shape)")
    precondition(groups >= 1 && weight.shape[0] % groups == 0, "\(weight.shape[0]) outputs do not split into \(groups) groups")
    precondition(bias == nil || bias!.shape == [weight.shape[0]], "convolution bias \(bias!.shape) does not match weight \(weight.shape)")
    precondition(stride >= 1 && dilation >= 1 && padding >= 0, "stride \(stride), dilation \(dilation), padding \(padding)")
    self.weight = weight
    self.bias = bias
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
    self.groups = groups
    if Conv2d.supportsWinograd(weight: weight, stride: stride, dilation: dilation, groups: groups) {
      winogradKernel = WinogradKernel(weight: stride == 1 ? weight : Winograd.spaceToDepth(weight: weight, block: stride), block: stride)
      algorithm = Conv2d.prefersWinograd(inputs: weight.shape[1], kernel: weight.shape[2], stride: stride) ? .winograd : .im2col
    } else {
      winogradKernel = nil
      algorithm = .im2col
    }
  }

  /// Whether Winograd F(2x2, 3x3) can compute the convolution: square kernels of k taps, stride s, dilation 1,
  /// one group, where ⌈k/s⌉ ≥ 3 (a stride above 1 through `Winograd.spaceToDepth`; kernels above 3x3 in 3x3
  /// pieces).
  static func supportsWinograd(weight: Tensor, stride: Int, dilation: Int, groups: Int) -> Bool {
    weight.shape[2] == weight.shape[3] && (weight.shape[2] + stride - 1) / stride >= 3 && dilation == 1 && groups == 1
  }

  /// Whether Winograd is the faster of the two, where it applies (measured on one thread, docs/METRICS.md:
  /// 1.7-2.0x for 3x3, 1.3x for AlexNet's 5x5 and 1.8x for its 11x11 stride 4 from 8 input channels; 0.8-1.0x
  /// with 3 or 4 input channels; only 1.1-1.2x for 7x7, which needs 0.73 of im2col's multiply-adds).
  static func prefersWinograd(inputs: Int, kernel: Int, stride: Int) -> Bool {
    // Multiply-adds per output and input channel: Winograd's 16 per 4 outputs for each 3x3 piece of the
    // ⌈k/s⌉ kernel over s² rearranged channels, against im2col's k².
    let pieces = ((kernel + stride - 1) / stride + 2) / 3
    let winograd = 4 * pieces * pieces * stride * stride
    return inputs * stride * stride >= 8 && 3 * winograd <= 2 * kernel * kernel
  }

  /// Loads `<prefix>.weight` [outputs, inputs / groups, kernel, kernel] and, when `bias`, `<prefix>.bias` [outputs].
  public init(weights: any TensorSource, prefix: String, inputs: Int, outputs: Int, kernel: Int,
              stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1, bias: Bool = true) throws {
    precondition(inputs % groups == 0, "\(inputs) inputs do not split into \(groups) groups")
    self.init(weight: try weights.tensor("\(prefix).weight", shape: [outputs, inputs / groups, kernel, kernel]),
              bias: bias ? try weights.tensor("\(prefix).bias", shape: [outputs]) : nil,
              stride: stride, padding: padding, dilation: dilation, groups: groups)
  }

  public var outputs: Int { weight.shape[0] }
  public var inputs: Int { weight.shape[1] * groups }
  public var kernelHeight: Int { weight.shape[2] }
  public var kernelWidth: Int { weight.shape[3] }

  /// The output extent along an axis of `size` input samples (PyTorch's floor rule).
  public func outputSize(_ size: Int, kernel: Int) -> Int {
    (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
  }

  /// [inputs, height, width] -> [outputs, height', width']
  public func callAsFunction(_ x: Tensor) -> Tensor {
    precondition(x.rank == 3, "convolution \(weight.shape) applied to \(x.shape); expected [channels, height, width]")
    return callAsFunction(x, algorithm: algorithm(height: x.shape[1], width: x.shape[2]))
  }

  /// The algorithm `callAsFunction(_:)` uses on a `height` x `width` input: `algorithm`, except that Winograd
  /// gives way to im2col on images of fewer than 32 tiles of 2x2 outputs (such as 7x7), where its 16
  /// products are too narrow to be faster.
  public func algorithm(height: Int, width: Int) -> Algorithm {
    guard algorithm == .winograd else { return .im2col }
    let shape = winogradShape(height: height, width: width)
    return shape.outHeight >= 1 && shape.outWidth >= 1 && shape.tilesY * shape.tilesX >= Winograd.minimumTiles ? .winograd : .im2col
  }

  /// The stride-1 convolution that the Winograd path computes on a `height` x `width` input: this one, or for a
  /// stride s > 1 the one over the space-to-depth rearranged input (no padding: the rearrangement applies it),
  /// whose output may have one row or column more than this one's (cut off).
  func winogradShape(height: Int, width: Int) -> Winograd.Shape {
    let s = stride
    if s == 1 {
      return Winograd.Shape(channels: inputs, outputs: outputs, height: height, width: width, kernel: kernelHeight, padding: padding)
    }
    return Winograd.Shape(channels: inputs * s * s, outputs: outputs, height: (height + 2 * padding + s - 1) / s,
                          width: (width + 2 * padding + s - 1) / s, kernel: (kernelHeight + s - 1) / s, padding: 0)
  }

  /// The convolution computed by `algorithm` (`.winograd` only where it applies: `supportsWinograd`).
  /// [inputs, height, width] -> [outputs, height', width']
  public func callAsFunction(_ x: Tensor, algorithm: Algorithm) -> Tensor {
    precondition(x.rank == 3 && x.shape[0] == inputs, "convolution \(weight.shape) (groups \(groups)) applied to \(x.shape)")
    if algorithm == .winograd {
      guard let winogradKernel else { preconditionFailure("Winograd F(2x2, 3x3) does not apply to convolution \(weight.shape), stride \(stride), dilation \(dilation), groups \(groups)") }
      return winograd(x, kernel: winogradKernel)
    }
    let (height, width) = (x.shape[1], x.shape[2])
    let (kh, kw) = (kernelHeight, kernelWidth)
    precondition(height + 2 * padding >= dilation * (kh - 1) + 1 && width + 2 * padding >= dilation * (kw - 1) + 1,
                 "a \(height)x\(width) input is smaller than the \(kh)x\(kw) kernel (dilation \(dilation), padding \(padding))")
    let (outHeight, outWidth) = (outputSize(height, kernel: kh), outputSize(width, kernel: kw))
    let positions = outHeight * outWidth
    let groupInputs = inputs / groups, groupOutputs = outputs / groups
    let depth = groupInputs * kh * kw
    let direct = kh == 1 && kw == 1 && stride == 1 && padding == 0
    // Output rows per sgemm, so that the column buffer stays near 4M floats.
    let rowsPerBlock = direct ? outHeight : max(1, min(outHeight, (1 << 22) / max(1, depth * outWidth)))
    // Neither buffer is zero-filled: the output is set to the bias (or overwritten by the first product),
    // and im2col writes every element of the columns it uses (a per-thread scratch buffer: `Scratch`).
    return Tensor(shape: [outputs, outHeight, outWidth]) { out in
      if let bias {
        for o in 0..<outputs {
          (out.baseAddress! + o * positions).update(repeating: bias.scalars[o], count: positions)
        }
      }
      let beta: Float = bias == nil ? 0 : 1
      x.scalars.withUnsafeBufferPointer { src in
        weight.scalars.withUnsafeBufferPointer { w in
          Scratch.withBuffer(count: direct ? 0 : depth * rowsPerBlock * outWidth) { columns in
            for g in 0..<groups {
              let input = src.baseAddress! + g * groupInputs * height * width
              let kernel = w.baseAddress! + g * groupOutputs * depth
              let result = out.baseAddress! + g * groupOutputs * positions
              if direct {
                Gemm.multiply(m: groupOutputs, n: positions, k: depth, a: kernel, lda: depth,
                              b: input, ldb: positions, c: result, ldc: positions, beta: beta)
                continue
              }
              var firstRow = 0
              while firstRow < outHeight {
                let rows = min(rowsPerBlock, outHeight - firstRow)
                let n = rows * outWidth
                fillColumns(input, channels: groupInputs, height: height, width: width,
                            outputRows: firstRow..<firstRow + rows, outWidth: outWidth, into: columns)
                Gemm.multiply(m: groupOutputs, n: n, k: depth, a: kernel, lda: depth,
                              b: columns, ldb: n, c: result + firstRow * outWidth, ldc: positions, beta: beta)
                firstRow += rows
              }
            }
          }
        }
      }
    }
  }

  /// The Winograd F(2x2, 3x3) path (Winograd.swift).
  private func winograd(_ x: Tensor, kernel: WinogradKernel) -> Tensor {
    let (height, width) = (x.shape[1], x.shape[2])
    let (outHeight, outWidth) = (outputSize(height, kernel: kernelHeight), outputSize(width, kernel: kernelWidth))
    precondition(height + 2 * padding >= kernelHeight && width + 2 * padding >= kernelWidth,
                 "a \(height)x\(width) input is smaller than the \(kernelHeight)x\(kernelWidth) kernel (padding \(padding))")
    let shape = winogradShape(height: height, width: width)
    let input = stride == 1 ? x : Winograd.spaceToDepth(x, block: stride, padding: padding)
    let transformed = kernel.transformed
    let y = Tensor(shape: [outputs, shape.outHeight, shape.outWidth]) { out in
      input.scalars.withUnsafeBufferPointer { src in
        transformed.withUnsafeBufferPointer { u in
          if let bias {
            bias.scalars.withUnsafeBufferPointer { b in
              Winograd.convolve(shape, input: src.baseAddress!, kernel: u.baseAddress!, bias: b.baseAddress!, output: out.baseAddress!)
            }
          } else {
            Winograd.convolve(shape, input: src.baseAddress!, kernel: u.baseAddress!, bias: nil, output: out.baseAddress!)
          }
        }
      }
    }
    guard shape.outHeight != outHeight || shape.outWidth != outWidth else { return y }
    // A strided convolution's rearranged output can overhang by a row or a column.
    return Tensor(shape: [outputs, outHeight, outWidth]) { out in
      for o in 0..<outputs {
        for row in 0..<outHeight {
          let start = (o * shape.outHeight + row) * shape.outWidth
          for column in 0..<outWidth { out[(o * outHeight + row) * outWidth + column] = y.scalars[start + column] }
        }
      }
    }
  }

  /// The column buffer for `outputRows`, its channels split over the BLAS threads when it is large (the copy
  /// is a third of a 3x3 layer's time on one thread).
  private func fillColumns(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                           outputRows: Range<Int>, outWidth: Int, into col: UnsafeMutablePointer<Float>) {
    let parts = min(Gemm.threads, channels)
    guard parts > 1, channels * kernelHeight * kernelWidth * outputRows.count * outWidth >= 1 << 18 else {
      im2col(input, channels: 0..<channels, height: height, width: width, outputRows: outputRows, outWidth: outWidth, into: col)
      return
    }
    let buffers = Buffers(input: input, col: col)
    DispatchQueue.concurrentPerform(iterations: parts) { part in
      im2col(buffers.input, channels: channels * part / parts..<channels * (part + 1) / parts, height: height, width: width,
             outputRows: outputRows, outWidth: outWidth, into: buffers.col)
    }
  }

  /// The input and the column buffer, shared by the threads of `fillColumns`, which write disjoint rows.
  private struct Buffers: @unchecked Sendable {
    let input: UnsafePointer<Float>
    let col: UnsafeMutablePointer<Float>
  }

  /// Fills rows `channels` x kh x kw of the [channels * kh * kw, rows * outWidth] column buffer with the input
  /// samples each output position sees (zeros outside the image), for the output rows `outputRows`.
  private func im2col(_ input: UnsafePointer<Float>, channels: Range<Int>, height: Int, width: Int,
                      outputRows: Range<Int>, outWidth: Int, into col: UnsafeMutablePointer<Float>) {
    let (kh, kw) = (kernelHeight, kernelWidth)
    let n = outputRows.count * outWidth
    for c in channels {
      for ky in 0..<kh {
        for kx in 0..<kw {
          let rowStart = col + ((c * kh + ky) * kw + kx) * n
          let offsetX = kx * dilation - padding
          // Output columns whose input column ox*stride + offsetX lies in [0, width).
          let low = offsetX >= 0 ? 0 : min(outWidth, (-offsetX + stride - 1) / stride)
          let high = max(low, min(outWidth, width - 1 - offsetX < 0 ? 0 : (width - 1 - offsetX) / stride + 1))
          for (i, oy) in outputRows.enumerated() {
            let dst = rowStart + i * outWidth
            let iy = oy * stride + ky * dilation - padding
            guard iy >= 0 && iy < height else {
              dst.update(repeating: 0, count: outWidth)
              continue
            }
            let line = input + (c * height + iy) * width
            if low > 0 { dst.update(repeating: 0, count: low) }
            if stride == 1 {
              (dst + low).update(from: line + low + offsetX, count: high - low)
            } else {
              var ix = low * stride + offsetX
              for ox in low..<high {
                dst[ox] = line[ix]
                ix += stride
              }
            }
            if high < outWidth { (dst + high).update(repeating: 0, count: outWidth - high) }
          }
        }
      }
    }
  }

  /// This convolution followed by `norm`, as one convolution: the weight scaled per output channel by
  /// γ/√(var+ε) and the bias moved to β + (b − mean)·γ/√(var+ε).
  public func folding(_ norm: BatchNorm2d) -> Conv2d {
    precondition(norm.channels == outputs, "batch norm over \(norm.channels) channels after a convolution with \(outputs) outputs")
    let perOutput = weight.count / outputs
    var scaled = weight
    var shifted = [Float](repeating: 0, count: outputs)
    for o in 0..<outputs {
      let scale = norm.weight.scalars[o] / (norm.runningVariance.scalars[o] + norm.epsilon).squareRoot()
      for i in o * perOutput..<(o + 1) * perOutput { scaled.scalars[i] *= scale }
      shifted[o] = norm.bias.scalars[o] + ((bias?.scalars[o] ?? 0) - norm.runningMean.scalars[o]) * scale
    }
    return Conv2d(weight: scaled, bias: Tensor(shape: [outputs], scalars: shifted),
                  stride: stride, padding: padding, dilation: dilation, groups: groups)
  }
}
