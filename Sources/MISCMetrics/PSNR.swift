import MISCImage

/// Peak signal-to-noise ratio over 8-bit RGB samples, in dB: 10·log10(255² / MSE).
public enum PSNR {
  /// The value reported for identical images (MSE of zero), as in CompressAI's tables.
  public static let identical = 100.0

  /// Mean squared error over all samples of two images of the same size.
  public static func meanSquaredError(_ a: Image, _ b: Image) -> Double {
    precondition(a.width == b.width && a.height == b.height, "PSNR needs images of the same size")
    return meanSquaredError(a.pixels, b.pixels)
  }

  /// Mean squared error over two equally long sample arrays.
  public static func meanSquaredError(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count && !a.isEmpty)
    var sum: UInt64 = 0
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        for i in 0..<pa.count {
          let d = Int(pa[i]) - Int(pb[i])
          sum &+= UInt64(d * d)
        }
      }
    }
    return Double(sum) / Double(a.count)
  }

  public static func psnr(_ a: Image, _ b: Image) -> Double {
    fromMSE(meanSquaredError(a, b))
  }

  public static func fromMSE(_ mse: Double) -> Double {
    mse == 0 ? identical : 10 * log10(255 * 255 / mse)
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
