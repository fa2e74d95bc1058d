import CPNG

/// PNG decoding and encoding through libpng; every libpng call runs inside the C shim's setjmp.
enum PNGCodec {
  static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

  /// Room for libpng's one-line error messages.
  private static let messageCapacity = 512

  static func decode(_ bytes: [UInt8], name: String, maxPixels: Int) throws -> LoadedImage {
    // Bound the size from IHDR before libpng sees the file, so even a header-only file that
    // claims a huge image fails on the limit rather than on truncation.
    if let (width, height) = ihdrDimensions(bytes) {
      try ImageIO.checkPixelLimit(width: width, height: height, maxPixels: maxPixels, name: name)
    }
    var message = [CChar](repeating: 0, count: messageCapacity)
    var header = misc_png_header()
    let headerStatus = bytes.withUnsafeBufferPointer { data in
      message.withUnsafeMutableBufferPointer { text in
        misc_png_read_header(data.baseAddress, data.count, &header, text.baseAddress, text.count)
      }
    }
    guard headerStatus == 0 else {
      throw ImageIOError.corrupt(path: name, format: .png, reason: "libpng: " + decodeMessage(message))
    }
    let width = Int(header.width), height = Int(header.height)
    try ImageIO.checkPixelLimit(width: width, height: height, maxPixels: maxPixels, name: name)
    let channels = Int(header.channels), sampleBytes = Int(header.bit_depth) / 8
    let rowBytes = Int(header.row_bytes)
    guard width > 0, height > 0, channels == 3 || channels == 4, sampleBytes == 1 || sampleBytes == 2,
          rowBytes == width * channels * sampleBytes else {
      throw ImageIOError.corrupt(path: name, format: .png, reason: "unexpected decoded layout \(channels) channels of \(header.bit_depth) bits")
    }
    let (byteCount, overflow) = rowBytes.multipliedReportingOverflow(by: height)
    if overflow { throw ImageIOError.tooManyPixels(path: name, width: width, height: height, maxPixels: maxPixels) }
    var pixelStatus: Int32 = 1
    let raw = bytes.withUnsafeBufferPointer { data in
      [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
        pixelStatus = message.withUnsafeMutableBufferPointer { text in
          misc_png_read_pixels(data.baseAddress, data.count, &header, buffer.baseAddress, byteCount,
                               text.baseAddress, text.count)
        }
        initialized = pixelStatus == 0 ? byteCount : 0
      }
    }
    guard pixelStatus == 0 else {
      throw ImageIOError.corrupt(path: name, format: .png, reason: "libpng: " + decodeMessage(message))
    }
    let (pixels, composited) = convertToRGB8(raw, pixelCount: width * height, channels: channels, sixteenBit: sampleBytes == 2)
    let notices = composited ? ["\(name): alpha channel composited on white"] : []
    return LoadedImage(image: Image(width: width, height: height, pixels: pixels), format: .png, notices: notices)
  }

  static func encode(_ image: Image) throws -> [UInt8] {
    guard image.width <= Int(UInt32.max), image.height <= Int(UInt32.max) else {
      throw ImageIOError.encodingFailed(format: .png, reason: "image is \(image.width)x\(image.height), too large for PNG")
    }
    var message = [CChar](repeating: 0, count: messageCapacity)
    var output: UnsafeMutablePointer<UInt8>? = nil
    var outputSize = 0
    let status = image.pixels.withUnsafeBufferPointer { pixels in
      message.withUnsafeMutableBufferPointer { text in
        misc_png_encode_rgb8(pixels.baseAddress, UInt32(image.width), UInt32(image.height),
                             &output, &outputSize, text.baseAddress, text.count)
      }
    }
    defer { misc_png_free(output) }
    guard status == 0, let output else {
      throw ImageIOError.encodingFailed(format: .png, reason: "libpng: " + decodeMessage(message))
    }
    return Array(UnsafeBufferPointer(start: output, count: outputSize))
  }

  /// Width and height from the IHDR chunk that must follow the signature, or nil if absent.
  static func ihdrDimensions(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
    guard bytes.count >= 24, bytes[12..<16].elementsEqual("IHDR".utf8) else { return nil }
    func bigEndian(_ offset: Int) -> Int {
      bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
    }
    return (bigEndian(16), bigEndian(20))
  }

  /// Decoded RGB(A) samples, 8- or 16-bit big-endian, to 8-bit RGB. Alpha is composited on
  /// white; the flag says whether any pixel was not fully opaque.
  static func convertToRGB8(_ raw: [UInt8], pixelCount: Int, channels: Int, sixteenBit: Bool) -> (pixels: [UInt8], composited: Bool) {
    if channels == 3 && !sixteenBit { return (raw, false) }
    var composited = false
    let pixels = raw.withUnsafeBufferPointer { src in
      [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { dst, initialized in
        for p in 0..<pixelCount {
          if sixteenBit {
            let base = p * channels * 2
            func sample(_ c: Int) -> Int { Int(src[base + 2 * c]) << 8 | Int(src[base + 2 * c + 1]) }
            let alpha = channels == 4 ? sample(3) : 65535
            if alpha != 65535 { composited = true }
            for c in 0..<3 {
              dst[p * 3 + c] = reduce16(compositeOnWhite(sample(c), alpha: alpha, max: 65535))
            }
          } else {
            let base = p * 4
            let alpha = Int(src[base + 3])
            if alpha != 255 { composited = true }
            for c in 0..<3 {
              dst[p * 3 + c] = UInt8(compositeOnWhite(Int(src[base + c]), alpha: alpha, max: 255))
            }
          }
        }
        initialized = pixelCount * 3
      }
    }
    return (pixels, composited)
  }

  /// `value` over white with straight `alpha`, both on 0...max, rounded to nearest.
  @inline(__always)
  static func compositeOnWhite(_ value: Int, alpha: Int, max: Int) -> Int {
    if alpha == max { return value }
    return (value * alpha + max * (max - alpha) + max / 2) / max
  }

  /// A 16-bit sample rounded to 8 bits: (v * 255 + 32767) / 65535.
  @inline(__always)
  static func reduce16(_ value: Int) -> UInt8 {
    UInt8((value * 255 + 32767) / 65535)
  }

  static func decodeMessage(_ message: [CChar]) -> String {
    let text = message.withUnsafeBufferPointer { buffer -> String in
      let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
      return String(decoding: bytes, as: UTF8.self)
    }
    return text.isEmpty ? "unknown libpng error" : text
  }
}
