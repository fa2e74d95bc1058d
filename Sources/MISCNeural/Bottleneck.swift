/// CLIP's ResNet block (OpenAI's `Bottleneck`): 1x1, 3x3 and 1x1 convolutions, each with its batch norm
/// folded in at load time, ReLU after the first two and after the residual sum. A stride above 1 is an
/// average pool after the 3x3 convolution (anti-aliased striding), and the shortcut is then an average pool
/// followed by a 1x1 convolution and batch norm (`downsample.-1`, `.0`, `.1`).
public struct Bottleneck: Sendable {
  /// The output channels are `planes * expansion`.
  public static let expansion = 4

  /// 1x1, inputs -> planes, batch norm folded.
  public let conv1: Conv2d
  /// 3x3 with padding 1, planes -> planes, batch norm folded.
  public let conv2: Conv2d
  /// 1x1, planes -> planes * 4, batch norm folded.
  public let conv3: Conv2d
  /// The stride as an average pool of that size, or nil for stride 1.
  public let pool: AvgPool2d?
  /// The shortcut's 1x1 convolution (batch norm folded), when the shape changes; its pool is `pool`.
  public let downsample: Conv2d?

  /// Loads `<prefix>.conv1/bn1`, `.conv2/bn2`, `.conv3/bn3` and, when the stride or width changes,
  /// `.downsample.0/1` (OpenAI's names; the convolutions have no bias).
  public init(weights: any TensorSource, prefix: String, inputs: Int, planes: Int, stride: Int) throws {
    func convolution(_ name: String, _ norm: String, _ inputs: Int, _ outputs: Int, kernel: Int) throws -> Conv2d {
      let conv = try Conv2d(weights: weights, prefix: "\(prefix).\(name)", inputs: inputs, outputs: outputs, kernel: kernel,
                            padding: kernel / 2, bias: false)
      return conv.folding(try BatchNorm2d(weights: weights, prefix: "\(prefix).\(norm)", channels: outputs))
    }
    let outputs = planes * Self.expansion
    conv1 = try convolution("conv1", "bn1", inputs, planes, kernel: 1)
    conv2 = try convolution("conv2", "bn2", planes, planes, kernel: 3)
    conv3 = try convolution("conv3", "bn3", planes, outputs, kernel: 1)
    pool = stride > 1 ? AvgPool2d(kernel: stride) : nil
    downsample = stride > 1 || inputs != outputs
      ? try convolution("downsample.0", "downsample.1", inputs, outputs, kernel: 1) : nil
  }

  public var outputs: Int { conv3.outputs }

  /// [inputs, height, width] -> [planes * 4, height / stride, width / stride] (floored)
  public func callAsFunction(_ x: Tensor) -> Tensor {
    var out = conv1(x)
    ReLU.apply(&out)
    out = conv2(out)
    ReLU.apply(&out)
    if let pool { out = pool(out) }
    out = conv3(out)
    if let downsample {
      out += downsample(pool.map { $0(x) } ?? x)
    } else {
      out += x
    }
    ReLU.apply(&out)
    return out
  }
}
