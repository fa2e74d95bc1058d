/// The window geometry that PyTorch's 2-D pooling layers share: kernel, stride, padding and the ceil rule.
public struct Pool2dWindow: Sendable, Hashable {
  public let kernel: Int
  public let stride: Int
  /// Added on every side (at most half the kernel, as PyTorch requires).
  public let padding: Int
  /// Rounds the output size up instead of down; a window that would start in the right/bottom padding is dropped.
  public let ceilMode: Bool

  /// `stride` defaults to the kernel, as in PyTorch.
  public init(kernel: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false) {
    precondition(kernel >= 1 && (stride ?? kernel) >= 1, "pooling kernel \(kernel), stride \(stride ?? kernel)")
    precondition(padding >= 0 && padding <= kernel / 2, "pooling padding \(padding) must be at most half the kernel \(kernel)")
    self.kernel = kernel
    self.stride = stride ?? kernel
    self.padding = padding
    self.ceilMode = ceilMode
  }

  /// The output extent along an axis of `size` input samples.
  public func outputSize(_ size: Int) -> Int {
    let span = size + 2 * padding - kernel
    precondition(span >= 0, "a pooling window of \(kernel) (padding \(padding)) does not fit in \(size) samples")
    var count = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
    if ceilMode && (count - 1) * stride >= size + padding { count -= 1 }
    return count
  }
}
