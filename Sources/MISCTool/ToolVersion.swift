import MISCCoding

/// What `misc --version` says: the tool's version and the .misc format versions it writes and reads.
enum ToolVersion {
  static let tool = "0.2.0"

  static var text: String {
    let read = Container.readableVersions
    return "misc \(tool) (writes .misc format v\(Container.version); reads v\(read.lowerBound)...v\(read.upperBound))"
  }
}
