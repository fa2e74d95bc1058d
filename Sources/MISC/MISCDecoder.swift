import MISCCoding
import MISCImage

/// What a decode produced, and how.
public struct Reconstruction: Sendable {
  /// The decoded image, at the original's size.
  public var image: Image
  /// I_ref: the thumbnail upsampled (bicubic) to the original's size.
  public var reference: Image
  public var file: Container.Decoded
  /// The seed the passes derived their seeds from (the file's, or an override).
  public var seed: UInt32
  /// The passes run, in order.
  public var passes: [RestorePass]
}

/// Progress of a decode: pass `index` of `count` is about to run. Return `false` to cancel.
public typealias DecodeProgress = @Sendable (_ index: Int, _ count: Int, _ pass: RestorePass) -> Bool

/// A decode was cancelled, or its restorer broke the contract.
public enum DecodeError: Error, CustomStringConvertible, Sendable {
  case cancelled
  case restorerReturnedWrongSize(expected: (Int, Int), got: (Int, Int))
  /// The decode would need more memory than the machine has available; checked before it
  /// allocates anything of the image's size.
  case notEnoughMemory(width: Int, height: Int, needed: Int, available: Int)

  public var description: String {
    switch self {
    case .cancelled: return "the decode was cancelled"
    case let .restorerReturnedWrongSize(e, g):
      return "the restorer returned a \(g.0)x\(g.1) image for a \(e.0)x\(e.1) condition"
    case let .notEnoughMemory(w, h, needed, available):
      return "decoding a \(w)x\(h) image needs about \(needed >> 20) MiB, more than the \(available >> 20) MiB available"
    }
  }
}

/// The decoder pipeline: `.misc` bytes → I_ref → item passes (eq. 7) → final pass (eq. 8).
public struct MISCDecoder: Sendable {
  /// Runs the diffusion passes; the embedded `BicubicRestorer` leaves I_ref as it is.
  public var restorer: any Restorer
  public var schedule: DecodeSchedule
  /// Files whose image is larger than this are refused before anything is allocated.
  public var maxPixels: Int
  /// Files below this rate for their declared size are refused as decompression bombs
  /// (`Container.defaultMinBitsPerPixel`); 0 turns the check off.
  public var minBitsPerPixel: Double = Container.defaultMinBitsPerPixel
  /// Bytes the decode may use; nil: what the system reports available (`AvailableMemory`).
  public var memoryLimit: Int?

  /// Peak bytes a decode holds per output pixel: I_ref and the current image (3 each), a
  /// restored image (3), an item mask and its blur (1 each), the encoded output (at most 3).
  public static let bytesPerPixel = 14

  public init(restorer: any Restorer = BicubicRestorer(), schedule: DecodeSchedule = DecodeSchedule(),
              maxPixels: Int = Container.defaultMaxPixels) {
    self.restorer = restorer
    self.schedule = schedule
    self.maxPixels = maxPixels
  }

  public func decode(_ bytes: [UInt8], seed: UInt32? = nil, progress: DecodeProgress? = nil) async throws -> Reconstruction {
    let file = try Container.decode(bytes, maxPixels: maxPixels, minBitsPerPixel: minBitsPerPixel)
    let contents = file.contents
    do {
      try AvailableMemory.check(width: contents.width, height: contents.height, bytesPerPixel: Self.bytesPerPixel,
                                name: "", available: memoryLimit ?? AvailableMemory.bytes())
    } catch let ImageIOError.notEnoughMemory(_, width, height, needed, available) {
      throw DecodeError.notEnoughMemory(width: width, height: height, needed: needed, available: available)
    }
    let reference = Self.reference(contents)
    let seed = seed ?? file.seed
    let passes = plan(contents, seed: seed)

    var current = reference
    for (index, pass) in passes.enumerated() {
      if let progress, !progress(index, passes.count, pass) { throw DecodeError.cancelled }
      let restored = try await restorer.restore(current, pass)
      guard restored.width == current.width, restored.height == current.height else {
        throw DecodeError.restorerReturnedWrongSize(expected: (current.width, current.height), got: (restored.width, restored.height))
      }
      switch pass.kind {
      case let .item(itemIndex):
        // eq. 7: keep the pass's result only inside the item's map.
        let map = contents.items[itemIndex].map!
        let mask = ItemMask.render(map, width: current.width, height: current.height,
                                   featherRadius: featherRadius(map, width: current.width, height: current.height))
        ItemMask.blend(restored, into: &current, mask: mask)
      case .final:
        current = restored
      }
    }
    return Reconstruction(image: current, reference: reference, file: file, seed: seed, passes: passes)
  }

  /// The passes of a file, in the paper's order: one per item that has a map and a detail,
  /// then the final pass.
  public func plan(_ contents: Container.Contents, seed: UInt32) -> [RestorePass] {
    var passes: [RestorePass] = []
    for (index, item) in contents.items.enumerated() where item.map != nil && !item.detail.isEmpty {
      passes.append(RestorePass(
        kind: .item(index: index), prompt: item.detail, negativePrompt: schedule.itemNegativePrompt,
        steps: schedule.itemSteps, guidanceScale: schedule.itemGuidanceScale, strength: schedule.strength,
        seed: DecodeSchedule.passSeed(fileSeed: seed, index: index), colorFix: false))
    }
    passes.append(RestorePass(
      kind: .final, prompt: schedule.finalPrompt(overview: contents.overview), negativePrompt: schedule.finalNegativePrompt,
      steps: schedule.finalSteps, guidanceScale: schedule.finalGuidanceScale, strength: schedule.strength,
      seed: DecodeSchedule.passSeed(fileSeed: seed, index: Container.maxItems), colorFix: schedule.colorFix))
    return passes
  }

  /// I_ref: the thumbnail upsampled to the image's size; mid-grey when the file has none.
  public static func reference(_ contents: Container.Contents) -> Image {
    guard let t = contents.thumbnail else {
      return Image(width: contents.width, height: contents.height, fill: (128, 128, 128))
    }
    return reference(thumbnail: Image(width: t.width, height: t.height, pixels: t.rgb), width: contents.width, height: contents.height)
  }

  /// I_ref of a decoded thumbnail: its bicubic upsample to the image's size.
  public static func reference(thumbnail: Image, width: Int, height: Int) -> Image {
    Resample.bicubic(thumbnail, width: width, height: height)
  }

  private func featherRadius(_ map: BinaryMap, width: Int, height: Int) -> Int {
    let cell = Double(min(width / map.width, height / map.height))
    return Int((schedule.featherCells * cell).rounded())
  }
}
