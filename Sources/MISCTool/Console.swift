import Foundation

/// Where the CLI writes: results to stdout, notices, progress and errors to stderr.
enum Console {
  static func out(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
  }

  static func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
  }

  static func error(_ line: String) {
    FileHandle.standardError.write(Data(("error: " + line + "\n").utf8))
  }

  /// A transient status line on a terminal; nil clears it.
  static func progress(_ line: String?) {
    let text = line.map { "\r\u{1B}[2K" + $0 } ?? "\r\u{1B}[2K"
    FileHandle.standardError.write(Data(text.utf8))
  }

  /// An error as one readable line: our errors describe themselves.
  static func describe(_ error: any Error) -> String {
    if let error = error as? LocalizedError, let description = error.errorDescription { return description }
    return String(describing: error)
  }
}
