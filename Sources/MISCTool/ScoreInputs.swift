import Foundation

/// The images `misc score` compares: one pair, two directories matched by file name, or (for
/// no-reference metrics alone) images without a reference.
struct ScoreInputs {
  /// One image to score, with its reference when the run has one.
  struct Item: Sendable {
    var reference: String?
    var distorted: String
    /// Why the item cannot be scored (no file of that name in the reference directory).
    var problem: String?
  }

  var items: [Item]
  /// Reference images no distorted image matched (noted, not an error).
  var unmatchedReferences: [String]

  static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

  /// `first` and `second` as the user gave them: files, directories, or one path when `second` is nil.
  static func resolve(_ first: String, _ second: String?) throws -> ScoreInputs {
    guard let second else {
      let images = try isDirectory(first) ? listImages(first) : [first]
      return ScoreInputs(items: images.map { Item(reference: nil, distorted: $0) }, unmatchedReferences: [])
    }
    switch (try isDirectory(first), try isDirectory(second)) {
    case (false, false):
      return ScoreInputs(items: [Item(reference: first, distorted: second)], unmatchedReferences: [])
    case (true, true):
      // Matched by name without extension, so PNG originals pair with JPEG or PNG decodes.
      var references: [String: String] = [:]
      for path in try listImages(first) { references[stem(path)] = path }
      var items: [Item] = []
      var used: Set<String> = []
      for path in try listImages(second) {
        if let reference = references[stem(path)] {
          items.append(Item(reference: reference, distorted: path))
          used.insert(stem(path))
        } else {
          items.append(Item(reference: nil, distorted: path, problem: "no reference image named \(stem(path)).* in \(first)"))
        }
      }
      let unmatched = references.filter { !used.contains($0.key) }.map(\.value).sorted()
      return ScoreInputs(items: items, unmatchedReferences: unmatched)
    default:
      throw CLIError("give two files or two directories (\(first) and \(second) are one of each)")
    }
  }

  static func stem(_ path: String) -> String { URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }

  static func isDirectory(_ path: String) throws -> Bool {
    var directory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &directory) else {
      throw CLIError("\(path): no such file or directory")
    }
    return directory.boolValue
  }

  /// The PNG and JPEG files of `directory`, sorted by name.
  static func listImages(_ directory: String) throws -> [String] {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: directory)
    } catch {
      throw CLIError("\(directory): cannot list directory: \(error.localizedDescription)")
    }
    let images = names.filter { imageExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }.sorted()
    if images.isEmpty { throw CLIError("\(directory): no PNG or JPEG images") }
    let prefix = directory.hasSuffix("/") ? directory : directory + "/"
    return images.map { prefix + $0 }
  }
}
