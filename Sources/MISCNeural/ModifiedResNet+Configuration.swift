import Foundation

extension ModifiedResNet {
  /// The architecture of a CLIP ResNet, as scripts/convert_clip_rn50.py writes it in `vision_config`.
  /// The defaults are RN50's.
  public struct Configuration: Sendable, Hashable {
    /// Bottleneck blocks per stage.
    public var layers = [3, 4, 6, 3]
    /// The stem's output channels; stage i has `width << i` planes and `4 * width << i` outputs.
    public var width = 64
    /// Attention-pool heads (OpenAI: width * 32 / 64).
    public var heads = 32
    /// The training resolution: the positional embedding covers (imageSize / 32)² positions + 1.
    public var imageSize = 224
    /// The embedding width (`c_proj`'s outputs).
    public var outputDimension = 1024

    public init() {}

    /// The feature map's channels at the attention pool.
    public var embeddingChannels: Int { width * 32 }
    /// The positional embedding's grid side.
    public var grid: Int { imageSize / 32 }

    /// Reads `vision_config` of `config.json`; errors name the file and the key.
    public init(contentsOf url: URL) throws {
      let path = url.path
      let data: Data
      do { data = try Data(contentsOf: url) } catch {
        throw CLIPError.cannotRead(path: path, reason: error.localizedDescription)
      }
      guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let vision = root["vision_config"] as? [String: Any] else {
        throw CLIPError.badConfiguration(path: path, reason: "no 'vision_config' object (make the folder with scripts/convert_clip_rn50.py)")
      }
      func int(_ key: String) throws -> Int {
        guard let value = vision[key] as? Int, !(vision[key] is Bool) else {
          throw CLIPError.badConfiguration(path: path, reason: "vision_config '\(key)' is missing or not an integer")
        }
        return value
      }
      guard let layers = vision["layers"] as? [Int], layers.count == 4 else {
        throw CLIPError.badConfiguration(path: path, reason: "vision_config 'layers' is not four block counts")
      }
      self.init()
      self.layers = layers
      width = try int("width")
      heads = try int("heads")
      imageSize = try int("image_size")
      outputDimension = try int("output_dim")
      try validate(path: path)
    }

    /// Sizes that are positive, bounded and consistent.
    public func validate(path: String = "configuration") throws {
      func check(_ ok: Bool, _ reason: String) throws {
        if !ok { throw CLIPError.badConfiguration(path: path, reason: reason) }
      }
      try check(layers.count == 4 && layers.allSatisfy { $0 >= 1 && $0 <= 64 }, "vision_config layers \(layers) are not four counts in 1...64")
      try check(width >= 2 && width <= 1024 && width % 2 == 0, "vision_config width \(width) is not an even number in 2...1024")
      try check(heads >= 1 && embeddingChannels % heads == 0, "vision_config heads \(heads) do not divide \(embeddingChannels) channels")
      try check(imageSize >= 32 && imageSize <= 4096 && imageSize % 32 == 0, "vision_config image_size \(imageSize) is not a multiple of 32 in 32...4096")
      try check(outputDimension >= 1 && outputDimension <= 1 << 16, "vision_config output_dim \(outputDimension) is outside 1...65536")
    }
  }
}
