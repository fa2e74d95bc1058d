import Foundation
import MISCImage
import MISCNeural

/// The safetensors folders the network metrics read under the metric models directory (`--metric-models DIR`,
/// `MISC_METRIC_MODELS`), each `DIR/<folder>/model.safetensors`, made by `scripts/convert_weights.py`:
///
/// | folder | holds | converted from |
/// |---|---|---|
/// | `alexnet` | `features.{0,3,6,8,10}.{weight,bias}` | torchvision `alexnet-owt-7be5be79.pth` |
/// | `vgg16` | `features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}` | torchvision `vgg16-397923af.pth` |
/// | `lpips-alex`, `lpips-vgg` | `lin{0…4}.weight` [1, C, 1, 1] | `alex.pth`, `vgg.pth` of the lpips wheel |
/// | `dists` | `alpha`, `beta` [1475] | DISTS_pytorch `weights.pt` or pyiqa's DISTS checkpoint |
public enum NetworkWeights {
  /// The official files each folder is converted from, as the error message names them.
  public static func officialFile(_ folder: String) -> String {
    switch folder {
    case "alexnet": "alexnet-owt-7be5be79.pth"
    case "vgg16": "vgg16-397923af.pth"
    case "lpips-alex": "lpips/weights/v0.1/alex.pth"
    case "lpips-vgg": "lpips/weights/v0.1/vgg.pth"
    case "dists": "DISTS_pytorch/weights.pt"
    default: "<\(folder) weights>"
    }
  }

  /// Opens `DIR/<folder>/model.safetensors` for `metric`, or throws `MetricError.weightsMissing` naming the
  /// folder looked in and the conversion command for every folder the metric needs (`allFolders`).
  public static func open(_ folder: String, for metric: MetricID, models: MetricModels, allFolders: [String]) throws -> SafeTensorsFile {
    let command = "python scripts/convert_weights.py --out \(models.directory ?? "DIR") "
      + allFolders.map(officialFile).joined(separator: " ")
    guard let directory = models.directory else {
      throw MetricError.weightsMissing(metric: metric, folder: "DIR/\(folder)",
                                       detail: "no metric models directory was given (--metric-models DIR or MISC_METRIC_MODELS), so no model.safetensors",
                                       command: command)
    }
    let folderPath = URL(fileURLWithPath: directory).appendingPathComponent(folder).path
    let file = URL(fileURLWithPath: folderPath).appendingPathComponent("model.safetensors").path
    guard FileManager.default.fileExists(atPath: file) else {
      throw MetricError.weightsMissing(metric: metric, folder: folderPath, detail: "no model.safetensors", command: command)
    }
    return try SafeTensorsFile(path: file)
  }

  /// An image as a [3, height, width] tensor, each 8-bit sample mapped through its channel's 256-entry `table`.
  static func planar(_ image: Image, tables: [[Float]]) -> Tensor {
    let plane = image.width * image.height
    return Tensor(shape: [3, image.height, image.width]) { out in
      image.pixels.withUnsafeBufferPointer { src in
        for c in 0..<3 {
          let table = tables[c]
          let dst = out.baseAddress! + c * plane
          for i in 0..<plane { dst[i] = table[Int(src[i * 3 + c])] }
        }
      }
    }
  }
}
