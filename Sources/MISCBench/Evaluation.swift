import Foundation
import MISC
import MISCCoding
import MISCImage
import MISCMetrics

/// A named folder of images (`--dataset kodak=DIR`).
public struct EvalDataset: Sendable, Hashable {
  public var name: String
  public var directory: String
  public init(name: String, directory: String) {
    self.name = name
    self.directory = directory
  }
}

/// What MISC runs with in an evaluation: the encoder's describer and locator or semantics files,
/// and the decoder's restorer and schedule.
public struct MISCSetup: Sendable {
  public var describer: (any Describer)?
  public var locator: (any Locator)?
  /// A folder of `<image>.json` semantics; an image without one falls back to the describer.
  public var semanticsDirectory: String?
  public var restorer: any Restorer
  public var schedule: DecodeSchedule

  public init(describer: (any Describer)? = nil, locator: (any Locator)? = nil, semanticsDirectory: String? = nil,
              restorer: any Restorer = BicubicRestorer(), schedule: DecodeSchedule = DecodeSchedule()) {
    self.describer = describer
    self.locator = locator
    self.semanticsDirectory = semanticsDirectory
    self.restorer = restorer
    self.schedule = schedule
  }
}

/// `misc eval`: every codec on every image at every target, scored by every metric, one record each.
public struct Evaluation: Sendable {
  /// The run's settings.
  public struct Configuration: Sendable {
    public var datasets: [EvalDataset]
    public var codecs: [EvalCodec]
    /// The reference codecs' (and plain `misc`'s) targets.
    public var bitsPerPixel: [Double] = [0.02, 0.05]
    public var metrics: [MetricID] = [.psnr]
    public var models = MetricModels()
    /// The output folder: records.jsonl, the tables, the plots, crops/ and report.html.
    public var output: String
    /// How many (image, codec, rate) jobs run at once.
    public var jobs = 1
    /// Discard the records of an earlier run instead of resuming it.
    public var fresh = false

    public init(datasets: [EvalDataset], codecs: [EvalCodec], output: String) {
      self.datasets = datasets
      self.codecs = codecs
      self.output = output
    }
  }

  /// Where the run stands, after each job.
  public struct Progress: Sendable {
    public var done: Int
    public var total: Int
    /// Jobs found finished in the records and skipped.
    public var skipped: Int
    public var elapsed: Double
    /// The job just finished ("kodak/kodim01 webp @0.02").
    public var last: String
    /// Seconds left at this run's pace; nil before the first job ends.
    public var eta: Double? {
      let ran = done - skipped
      guard ran > 0, total > done else { return total > done ? nil : 0 }
      return elapsed / Double(ran) * Double(total - done)
    }
  }

  public var configuration: Configuration
  public var setup: MISCSetup

  public init(configuration: Configuration, setup: MISCSetup = MISCSetup()) {
    self.configuration = configuration
    self.setup = setup
  }

  /// One unit of work.
  struct Job: Sendable {
    var dataset: String
    var path: String
    var image: String
    var codec: EvalCodec
    var rate: Double
    var key: String { EvalRecord.key(dataset: dataset, image: image, codec: codec.id, rate: rate) }
  }

  /// Checks everything that could fail for the whole run (metrics and their weights, tools,
  /// datasets) before any work, then runs the jobs not already recorded. Returns this run's
  /// records (stored and new), in job order.
  /// `metrics` are the run's metric objects when the caller built them already (to fail before
  /// its own setup); otherwise the registry builds them here.
  public func run(metrics built: [any QualityMetric]? = nil,
                  progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> [EvalRecord] {
    let config = configuration
    let metrics = try built ?? MetricRegistry.make(config.metrics, models: config.models)
    let tools = Array(Set(config.codecs.flatMap(\.tools))).sorted()
    try ExternalTool.ensureInstalled(tools)
    var jobs: [Job] = []
    for dataset in config.datasets {
      for path in try ThumbnailBench.datasetFiles(dataset.directory) {
        let image = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        for codec in config.codecs {
          for rate in codec.rates(config.bitsPerPixel) {
            jobs.append(Job(dataset: dataset.name, path: path, image: image, codec: codec, rate: rate))
          }
        }
      }
    }
    var versions: [String: String] = [:]
    for codec in config.codecs { versions[codec.id] = version(of: codec) }
    let store = try EvalStore(path: (config.output as NSString).appendingPathComponent("records.jsonl"), fresh: config.fresh)
    if config.fresh { try? FileManager.default.removeItem(atPath: (config.output as NSString).appendingPathComponent("crops")) }
    let wanted = Set(config.metrics.map(\.rawValue))
    var pending: [Job] = []
    for job in jobs {
      if let done = await store.record(job.key), done.error == nil, wanted.isSubset(of: Set(done.metrics.keys)) { continue }
      pending.append(job)
    }
    let skipped = jobs.count - pending.count
    let start = Date()
    let versionTable = versions
    let setup = self.setup
    let output = config.output
    progress(Progress(done: skipped, total: jobs.count, skipped: skipped, elapsed: 0, last: ""))
    try await withThrowingTaskGroup(of: String.self) { group in
      var next = 0, done = skipped
      func launch() {
        let job = pending[next]
        next += 1
        group.addTask {
          let record = await Self.perform(job, metrics: metrics, setup: setup, version: versionTable[job.codec.id], output: output)
          try await store.append(record)
          return "\(job.dataset)/\(job.image) \(job.codec.id)" + (job.rate > 0 ? String(format: " @%g", job.rate) : "")
        }
      }
      while next < min(max(1, config.jobs), pending.count) { launch() }
      while let label = try await group.next() {
        done += 1
        progress(Progress(done: done, total: jobs.count, skipped: skipped, elapsed: Date().timeIntervalSince(start), last: label))
        if next < pending.count { launch() }
      }
    }
    var records: [EvalRecord] = []
    for job in jobs { if let record = await store.record(job.key) { records.append(record) } }
    return records
  }

  func version(of codec: EvalCodec) -> String {
    switch codec {
    case .misc: "MISC format v\(Container.version); restorer: \(setup.restorer.name)"
    case let .reference(reference, _): reference.version
    case let .external(_, encode, decode): "external: \(encode) ; \(decode)"
    }
  }

  /// Runs one job; a failure becomes the record's error.
  static func perform(_ job: Job, metrics: [any QualityMetric], setup: MISCSetup, version: String?, output: String) async -> EvalRecord {
    var record = EvalRecord(dataset: job.dataset, image: job.image, codec: job.codec.id, rate: job.rate, width: 0, height: 0)
    record.codecVersion = version
    do {
      let original = try ImageIO.read(path: job.path).image
      record.width = original.width
      record.height = original.height
      let scratch = try ExternalTool.temporaryDirectory("eval")
      defer { try? FileManager.default.removeItem(at: scratch) }
      let coded = try await code(original, job: job, setup: setup, scratch: scratch)
      guard coded.image.width == original.width, coded.image.height == original.height else {
        throw BenchError("decoded \(coded.image.width)x\(coded.image.height), expected \(original.width)x\(original.height)")
      }
      record.bytes = coded.bytes
      record.bitsPerPixel = Double(coded.bytes * 8) / Double(original.pixelCount)
      record.reachedTarget = coded.fits
      record.settings = coded.settings
      record.encodeSeconds = coded.encodeSeconds
      record.decodeSeconds = coded.decodeSeconds
      for metric in metrics {
        do {
          record.metrics[metric.id.rawValue] = try metric.evaluate(reference: original, distorted: coded.image)
        } catch {
          // One metric that cannot score this decode leaves the others standing.
          record.metricErrors = (record.metricErrors ?? [:]).merging([metric.id.rawValue: "\(metric.id.label): \(error)"]) { $1 }
        }
        if let model = metric.modelID { record.models[metric.id.rawValue] = model }
      }
      try EvalCrops.save(original: original, decoded: coded.image, record: record, output: output)
    } catch {
      record.error = String(describing: error)
    }
    return record
  }

  /// Codes `image` with the job's codec and returns the decoded image at full size.
  static func code(_ image: Image, job: Job, setup: MISCSetup, scratch: URL) async throws -> MatchedRate.Coded {
    let target = Int((job.rate * Double(image.pixelCount) / 8).rounded(.down))
    switch job.codec {
    case let .misc(level):
      let rateTarget: RateTarget = level.map { .level($0) } ?? .bitsPerPixel(job.rate)
      let encoder = MISCEncoder(configuration: EncoderConfiguration(target: rateTarget), describer: setup.describer, locator: setup.locator)
      var semantics: Semantics? = nil
      if let directory = setup.semanticsDirectory {
        let path = (directory as NSString).appendingPathComponent(job.image + ".json")
        if FileManager.default.fileExists(atPath: path) { semantics = try Semantics.load(path: path) }
      }
      let start = Date()
      let encoded = try await encoder.encode(image, semantics: semantics)
      let encodeSeconds = Date().timeIntervalSince(start)
      let decodeStart = Date()
      let decoded = try await MISCDecoder(restorer: setup.restorer, schedule: setup.schedule).decode(encoded.bytes)
      let decodeSeconds = Date().timeIntervalSince(decodeStart)
      let thumbnail = encoded.thumbnailSize.map { "thumbnail \($0.width)x\($0.height) q\(encoded.thumbnailQuality ?? 0)" } ?? "no thumbnail"
      let items = encoded.semantics.items.count
      let settings = "\(rateTarget); \(thumbnail); \(items) item\(items == 1 ? "" : "s")" + (encoded.semantics.overview.isEmpty ? "; no overview" : "")
      return MatchedRate.Coded(image: decoded.image, bytes: encoded.bytes.count, fits: encoded.bytes.count <= encoded.budgetBytes,
                               settings: settings, encodeSeconds: encodeSeconds, decodeSeconds: decodeSeconds)
    case let .reference(codec, downscaled):
      return downscaled
        ? try MatchedRate.codeDownscaled(image, codec: codec, target: target, scratch: scratch)
        : try MatchedRate.code(image, codec: codec, target: target, scratch: scratch)
    case let .external(name, encode, decode):
      let input = scratch.appendingPathComponent("input.png").path
      let bitstream = scratch.appendingPathComponent("bitstream").path
      let output = scratch.appendingPathComponent("output.png").path
      try ImageIO.writePNG(image, to: input)
      func fill(_ template: String) -> String {
        template.replacingOccurrences(of: "{input}", with: quote(input))
          .replacingOccurrences(of: "{bitstream}", with: quote(bitstream))
          .replacingOccurrences(of: "{output}", with: quote(output))
          .replacingOccurrences(of: "{bpp}", with: String(format: "%g", job.rate))
          .replacingOccurrences(of: "{bytes}", with: "\(target)")
      }
      let start = Date()
      do { try ExternalTool.shell(fill(encode)) } catch { throw BenchError("\(name) encode: \(error)") }
      let encodeSeconds = Date().timeIntervalSince(start)
      guard FileManager.default.fileExists(atPath: bitstream) else { throw BenchError("\(name) encode wrote no {bitstream}") }
      let bytes = try ReferenceCodec.fileSize(bitstream)
      let decodeStart = Date()
      do { try ExternalTool.shell(fill(decode)) } catch { throw BenchError("\(name) decode: \(error)") }
      let decodeSeconds = Date().timeIntervalSince(decodeStart)
      guard FileManager.default.fileExists(atPath: output) else { throw BenchError("\(name) decode wrote no {output}") }
      let decoded = try ImageIO.read(path: output).image
      return MatchedRate.Coded(image: decoded, bytes: bytes, fits: job.rate == 0 || bytes <= target, settings: "external",
                               encodeSeconds: encodeSeconds, decodeSeconds: decodeSeconds)
    }
  }

  /// `path` quoted for /bin/sh.
  static func quote(_ path: String) -> String { "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
