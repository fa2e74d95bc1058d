import Foundation

/// Where the CLI writes: results to stdout, notices, progress and errors to stderr.
///
/// Every line is escaped on its way out (`Console.escaped`): a file's texts can hold terminal
/// control sequences, and none of them reaches the terminal. A transient progress line is
/// cleared before any other line is written, so the two never run together.
enum Console {
  /// `-q/--quiet`: no notices and no progress; results and errors still print.
  nonisolated(unsafe) static var quiet = false
  /// Results go to stderr when stdout carries an output file (`-o -`).
  nonisolated(unsafe) static var resultsToStandardError = false

  private static let lock = NSLock()
  nonisolated(unsafe) private static var progressShown = false

  static func out(_ line: String) {
    emit(escaped(line, keepingLayout: true) + "\n", to: resultsToStandardError ? .standardError : .standardOutput)
  }

  static func note(_ line: String) {
    if quiet { return }
    emit(escaped(line, keepingLayout: true) + "\n", to: .standardError)
  }

  static func error(_ line: String) {
    emit("error: " + escaped(line, keepingLayout: true) + "\n", to: .standardError)
  }

  /// A transient status line on a terminal; nil clears it.
  static func progress(_ line: String?) {
    if quiet { return }
    lock.lock()
    defer { lock.unlock() }
    FileHandle.standardError.write(Data(("\r\u{1B}[2K" + (line.map { escaped($0) } ?? "")).utf8))
    progressShown = line != nil
  }

  private static func emit(_ text: String, to handle: FileHandle) {
    lock.lock()
    defer { lock.unlock() }
    if progressShown {
      FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
      progressShown = false
    }
    handle.write(Data(text.utf8))
  }

  /// `text` with every control character made visible: C0 (as `\n`, `\t`, `\e`, `\x07`...),
  /// DEL and C1 (`\u007f`, `\u009b`...), so an escape sequence prints as text instead of acting.
  /// Backslashes stay as they are. `keepingLayout` lets the newlines and tabs of the CLI's own
  /// tables through; texts read from files are escaped with it off.
  static func escaped(_ text: String, keepingLayout: Bool = false) -> String {
    func kept(_ scalar: Unicode.Scalar) -> Bool { !isControl(scalar) || (keepingLayout && (scalar == "\n" || scalar == "\t")) }
    guard !text.unicodeScalars.allSatisfy(kept) else { return text }
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      guard !kept(scalar) else {
        out.append(scalar)
        continue
      }
      let visible: String
      switch scalar {
      case "\n": visible = "\\n"
      case "\r": visible = "\\r"
      case "\t": visible = "\\t"
      case "\u{1B}": visible = "\\e"
      default:
        // \u00XX for DEL and C1: readable, and still valid inside a JSON string.
        let hex = String(scalar.value, radix: 16)
        visible = scalar.value < 0x7F ? "\\x" + (hex.count < 2 ? "0" : "") + hex : "\\u00" + hex
      }
      out.append(contentsOf: visible.unicodeScalars)
    }
    return String(out)
  }

  /// C0, DEL and C1 controls.
  private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
  }

  /// An error as one readable line: our errors describe themselves.
  /// Foundation's file errors become "path: reason" with the system's reason ("Permission
  /// denied"), never `Error Domain=NSCocoaErrorDomain Code=513 ...`.
  static func describe(_ error: any Error) -> String {
    let ns = error as NSError
    if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
      let reason: String
      if let posix = ns.userInfo[NSUnderlyingErrorKey] as? POSIXError {
        reason = String(cString: strerror(posix.code.rawValue))
      } else if let underlying = (ns.userInfo[NSUnderlyingErrorKey] as? any Error).map({ $0 as NSError }), underlying.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(underlying.code)))
      } else if ns.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(ns.code)))
      } else {
        reason = ns.localizedDescription
      }
      let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
      return path.map { "\($0): \(reason)" } ?? reason
    }
    if let error = error as? LocalizedError, let description = error.errorDescription { return description }
    return String(describing: error)
  }
}
