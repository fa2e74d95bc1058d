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
    version: ToolVersion.text,
    subcommands: [Encode.self, Decode.self, Inspect.self, Describe.self, Locate.self, Score.self, Eval.self, Bench.self]
  )
}
