/// The constants of the generative decode (paper eq. 7 and 8, from the authors' code).
///
/// Item passes restore the current image with the item's detail as prompt and keep the
/// result inside the item's map; the final pass restores the composite with the overview
/// and the aesthetic words.
public struct DecodeSchedule: Sendable, Hashable {
  /// Denoising steps of each item pass.
  public var itemSteps = 3
  /// Classifier-free guidance of each item pass.
  public var itemGuidanceScale = 3.5
  /// Negative prompt of the item passes (the authors' code sets none).
  public var itemNegativePrompt = ""
  /// Denoising steps of the final pass.
  public var finalSteps = 40
  /// Classifier-free guidance of the final pass.
  public var finalGuidanceScale = 7.0
  /// Appended to the overview in the final prompt (the paper's T_aes).
  public var aestheticWords = "Hyper Detail, Masterpiece, 4K"
  /// Negative prompt of the final pass.
  public var finalNegativePrompt = "Blurry, Low Quality"
  /// How far each pass starts from its condition: 1.0 starts from noise, as DiffBIR does.
  public var strength = 1.0
  /// Wavelet colour fix on the final pass: low frequencies come from its condition.
  public var colorFix = true
  /// Width of the soft edge of item masks, in map cells (0 gives hard block edges).
  public var featherCells = 0.25

  public init() {}

  /// The final pass's prompt: the overview followed by the aesthetic words.
  public func finalPrompt(overview: String) -> String {
    let trimmed = overview.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.isEmpty { return aestheticWords }
    if aestheticWords.isEmpty { return trimmed }
    return trimmed + ", " + aestheticWords
  }

  /// The seed of pass `index` (items 0...2, then the final pass as 3): the format's pass-seed
  /// scheme (`FormatProfile.passSeed`), SplitMix64 of the file's seed, so that passes never
  /// share noise.
  public static func passSeed(fileSeed: UInt32, index: Int) -> UInt32 {
    FormatProfile.passSeed(fileSeed: fileSeed, index: index)
  }
}

import Foundation
import MISCCoding
