import ArgumentParser

/// Options every batch command shares: how many inputs run at once, and how much it says.
struct GeneralOptions: ParsableArguments {
  @Option(help: "Inputs processed at once (for encode, also the bound on concurrent LMM requests).")
  var jobs: Int = 1

  @Flag(name: .shortAndLong, help: "Print no notices or progress; results and errors still print.")
  var quiet = false

  func validate() throws {
    if jobs < 1 || jobs > 64 { throw ValidationError("--jobs must be within 1...64 (got \(jobs))") }
  }

  /// Applies --quiet to the console.
  func apply() {
    Console.quiet = quiet
  }
}
