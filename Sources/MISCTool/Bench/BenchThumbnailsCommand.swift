import ArgumentParser
import Foundation
import MISCBench

/// `misc bench thumbnails`: our thumbnail codec against WebP, AVIF, bare AV1, JPEG XL and JPEG.
struct BenchThumbnails: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "thumbnails",
    abstract: "Bytes against RGB PSNR of the thumbnail codec and the reference codecs, with BD-rates.",
    discussion: """
      Each image's centre square is area-downsampled to each size, then coded by our codec at every \
      quality and by cwebp, avifenc, cjxl and cjpeg across their quality range (missing tools are \
      installed from Debian packages when running as root). AV1 is reported twice: the AVIF file and \
      its bare AV1 payload (the mdat contents). BD-rates are Bjøntegaard's cubic fit in the log-rate \
      domain over the PSNR range both curves cover, averaged over images.
      """
  )

  @Option(name: .long, help: "A directory of PNG or JPEG images (e.g. the Kodak set).")
  var dataset: String

  @Option(name: .long, help: "Comma-separated thumbnail sides, each 1...256.")
  var sizes: String = "16,32,64"

  @Option(name: .long, help: "Comma-separated reference codecs: webp, avif, av1, jxl, jpeg.")
  var codecs: String = ReferenceCodec.thumbnailBenchCodecs.map(\.rawValue).joined(separator: ",")

  @Flag(name: .long, help: "Print the full report (per-image curves and BD-rates) as JSON to stdout.")
  var json = false

  @Option(name: .long, help: "Write the mean rate-distortion curves as an SVG plot to this path.")
  var plot: String?

  @Option(name: .long, help: ArgumentHelp(
    "Reuse the reference codecs' curves from an earlier --json report of the same dataset.",
    discussion: "Only our codec is swept again (and any reference the report lacks): the quick loop for codec work."))
  var references: String?

  var parsedSizes: [Int] { sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
  var parsedCodecs: [ReferenceCodec] { codecs.split(separator: ",").compactMap { ReferenceCodec(rawValue: $0.trimmingCharacters(in: .whitespaces)) } }

  func validate() throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dataset, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw ValidationError("--dataset \(dataset) is not a directory")
    }
    let sizeItems = sizes.split(separator: ",")
    guard !sizeItems.isEmpty, parsedSizes.count == sizeItems.count, parsedSizes.allSatisfy({ (1...256).contains($0) }) else {
      throw ValidationError("--sizes must be comma-separated integers in 1...256, got '\(sizes)'")
    }
    let codecItems = codecs.split(separator: ",")
    guard parsedCodecs.count == codecItems.count else {
      throw ValidationError("--codecs must be a comma-separated subset of \(ReferenceCodec.allCases.map(\.rawValue).joined(separator: ",")), got '\(codecs)'")
    }
    if let plot, plot.isEmpty { throw ValidationError("--plot needs a file path") }
  }

  func run() async throws {
    let showProgress = isatty(STDERR_FILENO) != 0
    var previous: ThumbnailBench.Report?
    if let references {
      let data: Data
      do { data = try Data(contentsOf: URL(fileURLWithPath: references)) } catch {
        throw ValidationError("--references \(references): cannot read it (\(error.localizedDescription))")
      }
      do { previous = try JSONDecoder().decode(ThumbnailBench.Report.self, from: data) } catch {
        throw ValidationError("--references \(references): not a `misc bench thumbnails --json` report (\(error))")
      }
    }
    let report = try ThumbnailBench.run(dataset: dataset, sizes: parsedSizes, codecs: parsedCodecs, reusing: previous) { line in
      if showProgress { Console.progress("bench thumbnails: \(line)") }
    }
    if showProgress { Console.progress(nil) }
    if let plot {
      try SVGPlot.render(report).write(toFile: plot, atomically: true, encoding: .utf8)
      Console.note("wrote \(plot)")
    }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
    } else {
      Console.out(ThumbnailBench.table(report))
    }
  }
}
