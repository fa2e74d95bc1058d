import ArgumentParser
import Foundation
import MISC
import MISCCoding
import MISCImage

/// `misc locate`: the map encoder alone, CLIP Surgery maps for named items.
struct Locate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Locate named items in an image with CLIP Surgery and print their binary maps.",
    discussion: """
      Runs the paper's map encoder on the CPU: CLIP ViT (e.g. openai/clip-vit-base-patch16) with CLIP \
      Surgery, the 85-prompt ensemble minus the empty-string feature, per-item min-max, bilinear upsampling \
      to the image, an antialiased resize to the grid and the threshold. Prints each map as a character \
      grid (# set, . clear); with --json, one JSON object with, per item, the patch-grid similarity \
      (row-major, min-max normalised, before any resize or threshold), the pooled grid values and the map rows.
      """
  )

  @Argument(help: "The image (PNG or JPEG).", completion: .file())
  var image: String

  @Option(help: "Comma-separated item names, e.g. \"red bicycle, wooden fence\".")
  var items: String

  @Option(help: "Cells per side of each map (\(BinaryMap.sideRange.lowerBound)...\(BinaryMap.sideRange.upperBound)).")
  var grid: Int = GridSize.paper.width

  @Option(help: "A cell is set where the pooled similarity is above this (0...1).")
  var threshold = CLIPSurgeryLocator.Configuration().threshold

  @Option(help: "How the image becomes CLIP's square input: squash (the paper's, whole image) or crop (CLIP's shortest side + centre crop).")
  var resize: String = CLIPPreprocessorResizeName.squash.rawValue

  @Flag(name: .customLong("token-axis-normalization"), help: "Normalise the features over the token axis, the old CLIP Surgery demo's bug (for reproductions only).")
  var tokenAxisNormalization = false

  @OptionGroup(title: "CLIP")
  var clip: CLIPOptions

  @Option(name: .customLong("max-pixels"), help: "Refuse larger images before decoding them.")
  var maxPixels: Int = ImageIO.defaultMaxPixels

  @Flag(help: "Print JSON: per item the patch-grid similarity, the pooled grid values and the map.")
  var json = false

  var names: [String] {
    items.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
  }

  func validate() throws {
    if names.isEmpty { throw ValidationError("--items needs at least one name, e.g. --items \"red bicycle, wooden fence\"") }
    if names.count > 16 { throw ValidationError("--items takes at most 16 names (got \(names.count))") }
    if !BinaryMap.sideRange.contains(grid) {
      throw ValidationError("--grid must be within \(BinaryMap.sideRange.lowerBound)...\(BinaryMap.sideRange.upperBound) (got \(grid))")
    }
    if !(threshold >= 0 && threshold <= 1) { throw ValidationError("--threshold must be within 0...1 (got \(threshold))") }
    if CLIPPreprocessorResizeName(rawValue: resize) == nil { throw ValidationError("--resize must be squash or crop (got \(resize))") }
    if maxPixels < 1 { throw ValidationError("--max-pixels must be positive") }
    if clip.directory == nil { throw ValidationError("misc locate needs a CLIP model: \(CLIPOptions.howTo)") }
  }

  func run() async throws {
    var configuration = CLIPSurgeryLocator.Configuration(threshold: threshold)
    configuration.resize = CLIPPreprocessorResizeName(rawValue: resize)!.resize
    configuration.normalizesTokenAxis = tokenAxisNormalization
    guard let locator = try clip.makeSurgeryLocator(configuration: configuration) else {
      throw CLIError("no CLIP model configured: \(CLIPOptions.howTo)")
    }
    let loaded = try ImageIO.read(path: image, maxPixels: maxPixels)
    for notice in loaded.notices { Console.note("note: \(notice)") }
    let located = try locator.located(names, in: loaded.image, grid: GridSize(width: grid, height: grid))
    if json {
      let record = LocateRecord(input: image, threshold: Double("\(threshold)") ?? Double(threshold), items: located.map(LocateRecord.Item.init))
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      Console.out(String(decoding: try encoder.encode(record), as: UTF8.self))
      return
    }
    var lines: [String] = []
    for item in located {
      lines.append("\(item.similarity.name): \(item.map.setCount)/\(item.map.width * item.map.height) cells")
      lines += item.map.drawn().map { "  " + $0 }
    }
    Console.out(lines.joined(separator: "\n"))
  }
}

/// The `--resize` names.
enum CLIPPreprocessorResizeName: String {
  case squash, crop

  var resize: CLIPSurgeryLocator.Resize { self == .squash ? .squash : .shortestSideCenterCrop }
}

/// `misc locate --json`.
struct LocateRecord: Encodable {
  struct Grid: Encodable {
    var width: Int
    var height: Int
    /// Row-major.
    var values: [Float]
  }

  struct Item: Encodable {
    var name: String
    /// The min–max normalised similarity over the patch grid, before resizing and thresholding.
    var similarity: Grid
    /// The similarity pooled to the map grid, before thresholding.
    var pooled: Grid
    /// The binary map as rows of 1 and 0, the semantics JSON's form.
    var map: [String]

    init(_ item: LocatedItem) {
      name = item.similarity.name
      similarity = Grid(width: item.similarity.width, height: item.similarity.height, values: item.similarity.values)
      pooled = Grid(width: item.map.width, height: item.map.height, values: item.pooled)
      map = item.map.rows
    }
  }

  var input: String
  var threshold: Double
  var items: [Item]
}
