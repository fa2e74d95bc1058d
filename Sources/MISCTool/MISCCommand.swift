import ArgumentParser

@main
struct MISCCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "misc",
    abstract: "MISC: ultra-low-bitrate semantic image compression (about 1 KB a photo).",
    discussion: """
      A .misc file keeps what a person would describe: a tiny thumbnail, an overview, up to three \
      named items and a coarse map of each. The decoder regenerates the image from them.
      """,
    version: "0.1.0 (format v1)",
    subcommands: [Encode.self, Decode.self, Inspect.self, Describe.self, Locate.self, Bench.self, Eval.self]
  )
}
