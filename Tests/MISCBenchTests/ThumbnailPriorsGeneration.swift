import Foundation
import MISCImage
import Testing
@testable import MISCBench
@testable import MISCCoding

/// Regenerates `Sources/MISCCoding/Thumbnail/ThumbnailPriors.swift`, only on request:
///
///     scripts/fetch-training-images.sh .build-train/images
///     MISC_TRAIN_THUMBNAIL_PRIORS=Sources/MISCCoding/Thumbnail/ThumbnailPriors.swift \
///     MISC_TRAINING_IMAGES=.build-train/images swift test --filter regenerateThumbnailPriors
///
/// The shipped table is fitted on scikit-image's sample photographs and textures, never on Kodak,
/// which is the test set of every figure we report. Each image contributes its centre square at
/// 16², 32² and 64² (the bench's sizes) and the whole frame at long sides 16, 32, 64 and 128 (what
/// rate control codes).
@Suite struct ThumbnailPriorsGeneration {
  @Test(.enabled(if: ProcessInfo.processInfo.environment["MISC_TRAIN_THUMBNAIL_PRIORS"] != nil))
  func regenerateThumbnailPriors() throws {
    let env = ProcessInfo.processInfo.environment
    let directory = try #require(env["MISC_TRAINING_IMAGES"], "set MISC_TRAINING_IMAGES (scripts/fetch-training-images.sh)")
    #expect(!directory.lowercased().contains("kodak"), "Kodak is the test set; train on other images")
    var images: [(rgb: [UInt8], width: Int, height: Int)] = []
    for file in try ThumbnailBench.datasetFiles(directory) {
      let image = try ImageIO.read(path: file).image
      for size in [16, 32, 64] {
        let square = ThumbnailBench.centreSquare(image, size: size)
        images.append((square.pixels, size, size))
      }
      for longSide in [16, 32, 64, 128] {
        let size = Container.thumbnailSize(imageWidth: image.width, imageHeight: image.height, longSide: longSide)
        let frame = Resample.area(image, width: size.width, height: size.height)
        images.append((frame.pixels, size.width, size.height))
      }
    }
    let table = ThumbnailPriorTraining.train(images: images)
    try ThumbnailPriorTraining.swiftSource(table).write(toFile: env["MISC_TRAIN_THUMBNAIL_PRIORS"]!, atomically: true, encoding: .utf8)
  }
}
