import Foundation
import MISCImage
import Testing
@testable import MISCBench
@testable import MISCCoding

/// Regenerates `Sources/MISCCoding/Thumbnail/ThumbnailPriors.swift`, only on request:
/// MISC_TRAIN_THUMBNAIL_PRIORS=Sources/MISCCoding/Thumbnail/ThumbnailPriors.swift \
/// MISC_BENCH_DATASET=../shared/data/kodak swift test --filter regenerateThumbnailPriors
/// The shipped table was fitted on the Kodak centre squares at 16², 32² and 64².
@Suite struct ThumbnailPriorsGeneration {
  @Test(.enabled(if: ProcessInfo.processInfo.environment["MISC_TRAIN_THUMBNAIL_PRIORS"] != nil))
  func regenerateThumbnailPriors() throws {
    let env = ProcessInfo.processInfo.environment
    var images: [(rgb: [UInt8], width: Int, height: Int)] = []
    for file in try ThumbnailBench.datasetFiles(env["MISC_BENCH_DATASET"] ?? "../shared/data/kodak") {
      let image = try ImageIO.read(path: file).image
      for size in [16, 32, 64] {
        let square = ThumbnailBench.centreSquare(image, size: size)
        images.append((square.pixels, size, size))
      }
    }
    let table = ThumbnailPriorTraining.train(images: images)
    try ThumbnailPriorTraining.swiftSource(table).write(toFile: env["MISC_TRAIN_THUMBNAIL_PRIORS"]!, atomically: true, encoding: .utf8)
  }
}
