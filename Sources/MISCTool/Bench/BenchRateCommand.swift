import ArgumentParser
import Foundation
import MISC
import MISCBench
import MISCCoding

/// `misc bench rate`: our rate control against the paper's pixel path and WebP at one budget.
struct BenchRate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rate",
    abstract: "I_ref PSNR at a bpp target: our rate control, the paper's pixel path, a WebP thumbnail and AVIF.",
    discussion: """
      Every method gets the same whole-file byte budget (⌊bpp · pixels / 8⌋) and pays the same \
      container framing; the thumbnail is upsampled bicubically to full resolution (I_ref) and \
      compared with the original. Files carry the thumbnail only (no semantic layers). Two \
      reference rows are what a user would pick instead, each a whole AVIF file within the same \
      budget (the matched-rate search of `misc eval`): AVIF at full resolution, and AVIF \
      downscaled by 1/2, 1/4 or 1/8 (the best per image) and upsampled bicubically. A row whose \
      smallest file exceeds the budget counts as mid-grey at 0 bpp.
      """
  )

  @Option(name: .long, help: "A directory of PNG or JPEG images (e.g. the Kodak set).")
  var dataset: String

  @Option(name: .long, help: "The whole-file target in bits per pixel (e.g. 0.02).")
  var bpp: Double

  @Flag(name: .long, help: "Print the report (every image and the means) as JSON to stdout.")
  var json = false

  @Flag(name: .customLong("misc-only"), help: "Run only our rate control (to time it); no reference rows.")
  var miscOnly = false

  @Option(name: .customLong("format-version"),
          help: "The format version our files are written in (default: the current one, \(Container.version)); an older one compares versions.")
  var formatVersion: Int = Container.version

  func validate() throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dataset, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw ValidationError("--dataset \(dataset) is not a directory")
    }
    guard RateTarget.bitsPerPixelRange.contains(bpp) else {
      throw ValidationError("--bpp must be in \(RateTarget.bitsPerPixelRange), got \(bpp)")
    }
    guard FormatProfile.all.contains(where: { $0.version == formatVersion }) else {
      throw ValidationError("--format-version must be one of \(FormatProfile.all.map(\.version)), got \(formatVersion)")
    }
  }

  func run() async throws {
    let showProgress = isatty(STDERR_FILENO) != 0
    let report = try await RateBench.run(dataset: dataset, bitsPerPixel: bpp, references: !miscOnly,
                                         formatVersion: formatVersion) { line in
      if showProgress { Console.progress("bench rate: \(line)") }
    }
    if showProgress { Console.progress(nil) }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
    } else {
      Console.out(RateBench.table(report))
    }
  }
}
