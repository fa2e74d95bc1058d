import Foundation

/// Where a command writes the output for one input.
enum OutputPath {
  /// `explicit` (-o) when given; else `directory`/stem+suffix; else stem+suffix beside the input.
  static func resolve(input: String, explicit: String?, directory: String?, suffix: String) -> String {
    if let explicit { return explicit }
    let url = URL(fileURLWithPath: input)
    let name = url.deletingPathExtension().lastPathComponent + suffix
    if let directory { return URL(fileURLWithPath: directory).appendingPathComponent(name).path }
    return url.deletingLastPathComponent().appendingPathComponent(name).path
  }

  /// Fails early, before any work, when an output directory does not exist.
  static func checkDirectory(_ directory: String?) throws {
    guard let directory else { return }
    var isDirectory: ObjCBool = false
    if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } else if !isDirectory.boolValue {
      throw CLIError("\(directory): not a directory")
    }
  }
}

/// A plain error message from the CLI itself.
struct CLIError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
