import CTurboJPEG

/// JPEG decoding and encoding through TurboJPEG (the tj*2/3 API of libjpeg-turbo 2.1).
///
/// Decoding is strict: libjpeg warnings such as "Premature end of JPEG file" are errors, so a
/// truncated file is refused instead of being padded with grey.
enum JPEGCodec {
  static func decode(_ bytes: [UInt8], name: String, maxPixels: Int) throws -> LoadedImage {
    guard let handle = tjInitDecompress() else {
      throw ImageIOError.corrupt(path: name, format: .jpeg, reason: "TurboJPEG: cannot create a decompressor")
    }
    defer { tjDestroy(handle) }
    var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
    let headerStatus = bytes.withUnsafeBufferPointer { data in
      tjDecompressHeader3(handle, data.baseAddress, UInt(data.count), &width, &height, &subsampling, &colorspace)
    }
    guard headerStatus == 0 else {
      throw ImageIOError.corrupt(path: name, format: .jpeg, reason: "TurboJPEG: " + errorText(handle))
    }
    if colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue) {
      let kind = colorspace == Int32(TJCS_CMYK.rawValue) ? "CMYK" : "YCCK"
      throw ImageIOError.unsupportedFormat(path: name, reason: "\(kind) JPEG is not supported; convert it to RGB first")
    }
    guard width > 0, height > 0 else {
      throw ImageIOError.corrupt(path: name, format: .jpeg, reason: "no image in the data (a tables-only stream, or cut off after the start marker)")
    }
    try ImageIO.checkPixelLimit(width: Int(width), height: Int(height), maxPixels: maxPixels, name: name)
    let byteCount = Int(width) * Int(height) * 3
    // Accurate integer IDCT, stop on libjpeg warnings, bound progressive scans (a known DoS).
    let flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS
    var status: Int32 = -1
    let pixels = bytes.withUnsafeBufferPointer { data in
      [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
        status = tjDecompress2(handle, data.baseAddress, UInt(data.count), buffer.baseAddress,
                               width, 0, height, Int32(TJPF_RGB.rawValue), flags)
        initialized = status == 0 ? byteCount : 0
      }
    }
    guard status == 0 else {
      throw ImageIOError.corrupt(path: name, format: .jpeg, reason: "TurboJPEG: " + errorText(handle))
    }
    return LoadedImage(image: Image(width: Int(width), height: Int(height), pixels: pixels), format: .jpeg)
  }

  static func encode(_ image: Image, quality: Int) throws -> [UInt8] {
    guard (1...100).contains(quality) else {
      throw ImageIOError.encodingFailed(format: .jpeg, reason: "quality \(quality) is outside 1...100")
    }
    guard image.width <= 65_535, image.height <= 65_535 else {
      throw ImageIOError.encodingFailed(format: .jpeg, reason: "image is \(image.width)x\(image.height); JPEG allows at most 65535 per side")
    }
    guard let handle = tjInitCompress() else {
      throw ImageIOError.encodingFailed(format: .jpeg, reason: "TurboJPEG: cannot create a compressor")
    }
    defer { tjDestroy(handle) }
    var output: UnsafeMutablePointer<UInt8>? = nil
    var outputSize: UInt = 0
    let status = image.pixels.withUnsafeBufferPointer { pixels in
      tjCompress2(handle, pixels.baseAddress, Int32(image.width), 0, Int32(image.height),
                  Int32(TJPF_RGB.rawValue), &output, &outputSize, Int32(TJSAMP_420.rawValue),
                  Int32(quality), TJFLAG_ACCURATEDCT)
    }
    defer { tjFree(output) }
    guard status == 0, let output else {
      throw ImageIOError.encodingFailed(format: .jpeg, reason: "TurboJPEG: " + errorText(handle))
    }
    return Array(UnsafeBufferPointer(start: output, count: Int(outputSize)))
  }

  private static func errorText(_ handle: tjhandle) -> String {
    guard let text = tjGetErrorStr2(handle) else { return "unknown TurboJPEG error" }
    return String(cString: text)
  }
}
