import ArgumentParser
import Foundation
import MISC
import MISCCoding
import MISCImage

struct Decode: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Rebuild images from .misc files.",
    discussion: """
      The decode runs the paper's schedule (item passes under their maps, then the final pass) \
      through a restorer. This build embeds the bicubic restorer: no diffusion model, so the \
      output is the upsampled thumbnail. Decodes are deterministic: the seed comes from the file.
      """
  )

  @Argument(help: "The .misc files to decode.")
  var inputs: [String]

  @Option(name: .shortAndLong, help: "Output PNG (only with a single input).")
  var output: String?

  @Option(name: .customLong("out-dir"), help: "Directory for the outputs, named <input>.png (default: <input>.decoded.png beside each input).")
  var outDir: String?

  @Option(help: "Override the seed derived from the file (0...4294967295).")
  var seed: UInt32?

  @Option(name: .customLong("max-pixels"), help: "Refuse files whose image is larger than this.")
  var maxPixels: Int = Container.defaultMaxPixels

  func validate() throws {
    if output != nil && inputs.count > 1 { throw ValidationError("-o/--output takes a single input; use --out-dir for several") }
    if output != nil && outDir != nil { throw ValidationError("give -o/--output or --out-dir, not both") }
    if maxPixels < 1 { throw ValidationError("--max-pixels must be positive") }
  }

  func run() async throws {
    try OutputPath.checkDirectory(outDir)
    let decoder = MISCDecoder(restorer: BicubicRestorer(), maxPixels: maxPixels)
    Console.note("note: restorer: \(decoder.restorer.name)")
    do {
      try await Batch(verb: "decoding", inputs: inputs).run { input in
        let bytes = try readFileBytes(input, maxBytes: Container.maxFileBytes)
        let result = try await decoder.decode(bytes, seed: seed)
        let path = OutputPath.resolve(input: input, explicit: output, directory: outDir,
                                      suffix: outDir == nil ? ".decoded.png" : ".png")
        try ImageIO.writePNG(result.image, to: path)
        Console.out("\(input) -> \(path): \(result.image.width)x\(result.image.height), seed \(result.seed), \(result.passes.count) passes")
      }
    } catch let error as ExitCodeError {
      throw ExitCode(error.code)
    }
  }
}
