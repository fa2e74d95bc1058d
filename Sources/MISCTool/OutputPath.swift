import ArgumentParser
import Foundation
import MISCImage

/// What a command does with outputs that exist, collide, or should mirror the inputs' folders,
/// and which share of the inputs this run takes.
struct OutputOptions: ParsableArguments {
  @Flag(name: .shortAndLong, help: "Overwrite outputs that exist (a FIFO or device is always written to, never replaced).")
  var force = false

  @Flag(name: .customLong("skip-existing"), help: "Skip inputs whose output exists, counting them as done: rerunning a batch that died finishes it.")
  var skipExisting = false

  @Flag(name: .customLong("keep-tree"), help: "With --out-dir, mirror the inputs' folders under it, so same-named inputs never collide.")
  var keepTree = false

  @Option(help: ArgumentHelp("Take the K-th of N deterministic shares of the inputs (inputs K, K+N, K+2N, ...), so N machines can share one batch.", valueName: "K/N"))
  var shard: Shard?

  func validate() throws {
    if force && skipExisting { throw ValidationError("give -f/--force or --skip-existing, not both") }
  }
}

/// `--shard K/N`: the inputs whose position (from 1) is K modulo N.
struct Shard: ExpressibleByArgument, Equatable {
  var index: Int
  var count: Int

  init?(argument: String) {
    let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (1...count).contains(index) else {
      return nil
    }
    (self.index, self.count) = (index, count)
  }

  var defaultValueDescription: String { "\(index)/\(count)" }

  /// This shard's inputs, in their given order.
  func select<T>(_ inputs: [T]) -> [T] {
    inputs.enumerated().filter { $0.offset % count == index - 1 }.map(\.element)
  }
}

/// One input and where its output goes; `skip` when `--skip-existing` found the output there.
struct OutputJob: Sendable {
  var input: String
  var output: String
  var skip = false
}

/// Where a command writes the output for one input.
enum OutputPath {
  /// `-` names standard input or output.
  static let standardStream = "-"

  /// `explicit` (-o) when given; else `directory`/stem+suffix (under the input's folder
  /// relative to `tree` when mirroring); else stem+suffix beside the input. Standard input
  /// goes to standard output unless told otherwise.
  static func resolve(input: String, explicit: String?, directory: String?, suffix: String, tree: String? = nil) -> String {
    if let explicit { return explicit }
    if input == standardStream { return standardStream }
    let url = URL(fileURLWithPath: input)
    let name = url.deletingPathExtension().lastPathComponent + suffix
    if let directory {
      var folder = URL(fileURLWithPath: directory)
      if let tree {
        let parent = url.deletingLastPathComponent().standardizedFileURL.path
        let relative = parent == tree ? "" : String(parent.dropFirst(tree == "/" ? 1 : tree.count + 1))
        if !relative.isEmpty { folder.appendPathComponent(relative, isDirectory: true) }
      }
      return folder.appendingPathComponent(name).path
    }
    return url.deletingLastPathComponent().appendingPathComponent(name).path
  }

  /// Fails early, before any work, when an output directory does not exist.
  static func checkDirectory(_ directory: String?) throws {
    guard let directory else { return }
    var isDirectory: ObjCBool = false
    if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
      do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      } catch {
        throw CLIError("\(directory): cannot create the directory: \(Console.describe(error))")
      }
    } else if !isDirectory.boolValue {
      throw CLIError("\(directory): not a directory")
    }
  }

  /// Every input's output, checked before any work: an output that is an input is refused,
  /// outputs that collide are listed, and one that exists is refused unless `--force` (or
  /// skipped with `--skip-existing`). Throws after printing every problem found.
  static func plan(inputs: [String], explicit: String?, directory: String?, options: OutputOptions,
                   suffix: (String) -> String) throws -> [OutputJob] {
    let tree = options.keepTree && directory != nil ? commonFolder(of: inputs) : nil
    let all = inputs.map { input in
      OutputJob(input: input, output: resolve(input: input, explicit: explicit, directory: directory, suffix: suffix(input), tree: tree))
    }
    // Collisions are found over every input, so each shard of a batch refuses alike.
    var problems = collisions(all, hint: directory != nil && !options.keepTree)
    var jobs = options.shard.map { $0.select(all) } ?? all

    var inputIDs: [FileID: String] = [:]
    for input in inputs where input != standardStream {
      if let id = FileID(path: input) { inputIDs[id] = input }
    }
    for index in jobs.indices {
      let job = jobs[index]
      if job.output == standardStream {
        if isatty(STDOUT_FILENO) != 0 && !options.force {
          problems.append("\(job.input): refusing to write a binary file to a terminal; redirect standard output or give -f/--force")
        }
        continue
      }
      if let id = FileID(path: job.output), let input = inputIDs[id] {
        problems.append("\(job.output) is the input \(input) itself; refusing to overwrite it (give -o or --out-dir)")
        continue
      }
      var info = stat()
      guard stat(job.output, &info) == 0 else { continue }
      switch info.st_mode & S_IFMT {
      case S_IFREG:
        if options.skipExisting {
          jobs[index].skip = true
        } else if !options.force {
          problems.append("\(job.output) exists; give -f/--force to overwrite it, or --skip-existing to skip its input")
        }
      case S_IFDIR:
        problems.append("\(job.output) is a directory")
      default:
        break  // a FIFO, device or socket: written to as it is
      }
    }
    if !problems.isEmpty {
      for problem in problems { Console.error(problem) }
      throw ExitCode(1)
    }
    return jobs
  }

  /// "2 inputs would write o/x.misc: a/x.png, b/x.png", once per output that several share.
  private static func collisions(_ jobs: [OutputJob], hint: Bool) -> [String] {
    var byOutput: [String: [OutputJob]] = [:]
    var order: [String] = []
    for job in jobs where job.output != standardStream {
      let key = identity(of: job.output)
      if byOutput[key] == nil { order.append(key) }
      byOutput[key, default: []].append(job)
    }
    return order.compactMap { key in
      guard let sharing = byOutput[key], sharing.count > 1 else { return nil }
      let advice = hint ? " (give --keep-tree to mirror the inputs' folders under --out-dir)" : ""
      return "\(sharing.count) inputs would write \(sharing[0].output): \(sharing.map(\.input).joined(separator: ", "))\(advice)"
    }
  }

  /// The deepest folder holding every input (absolute, standardized).
  static func commonFolder(of inputs: [String]) -> String {
    let folders = inputs.filter { $0 != standardStream }.map {
      URL(fileURLWithPath: $0).deletingLastPathComponent().standardizedFileURL.pathComponents
    }
    guard var common = folders.first else { return "/" }
    for folder in folders.dropFirst() {
      var count = 0
      while count < min(common.count, folder.count) && common[count] == folder[count] { count += 1 }
      common = Array(common.prefix(count))
    }
    let path = NSString.path(withComponents: common.isEmpty ? ["/"] : common)
    return path
  }

  /// One name per file: the device and inode when it exists, else the absolute path with its
  /// folder's symlinks resolved.
  private static func identity(of path: String) -> String {
    if let id = FileID(path: path) { return "\(id.device):\(id.inode)" }
    let url = URL(fileURLWithPath: path)
    return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent).standardizedFileURL.path
  }

  /// Creates the folders an output needs (under --out-dir with --keep-tree).
  static func makeFolder(for output: String) throws {
    guard output != standardStream else { return }
    let folder = URL(fileURLWithPath: output).deletingLastPathComponent().path
    try checkDirectory(folder)
  }
}

extension OutputJob {
  /// Writes `bytes` as this job's output: to standard output for `-`; else atomically, never
  /// replacing an existing file unless `force` (a FIFO or device is written to as it is).
  func write(_ bytes: [UInt8], force: Bool) throws {
    if output == OutputPath.standardStream {
      FileHandle.standardOutput.write(Data(bytes))
      return
    }
    try OutputPath.makeFolder(for: output)
    do {
      try writeFileAtomically(bytes, to: output, replacing: force)
    } catch ImageIOError.unwritable(_, "file exists") {
      throw CLIError("\(output) exists; give -f/--force to overwrite it, or --skip-existing to skip its input")
    }
  }
}

/// A file's device and inode (symlinks followed): two paths name one file when these match.
struct FileID: Hashable {
  var device: UInt64
  var inode: UInt64

  init?(path: String) {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
  }
}

/// A plain error message from the CLI itself. Its text is escaped: it may quote a path or a
/// file's text, and swift-argument-parser prints it as it is.
struct CLIError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = Console.escaped(description, keepingLayout: true) }
}

/// The bytes of `path`, or of standard input for `-`, refusing more than `maxBytes`.
func readInput(_ path: String, maxBytes: Int) throws -> [UInt8] {
  try readFileBytes(path == OutputPath.standardStream ? "/dev/stdin" : path, maxBytes: maxBytes)
}

/// Checks shared by the commands that take `-` and --keep-tree.
func validateStreams(inputs: [String], outDir: String?, keepTree: Bool) throws {
  if inputs.filter({ $0 == OutputPath.standardStream }).count > 1 { throw ValidationError("- (standard input) can be given once") }
  if keepTree && outDir == nil { throw ValidationError("--keep-tree mirrors the inputs' folders under --out-dir: give --out-dir") }
}
