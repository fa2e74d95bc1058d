import ArgumentParser

struct Bench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Measure the codec against reference codecs on a dataset.",
    subcommands: [BenchThumbnails.self, BenchRate.self, BenchText.self, BenchCLIP.self, BenchMetrics.self]
  )
}
