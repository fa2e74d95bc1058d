import Foundation

/// The architecture of a Hugging Face CLIP checkpoint, read from its `config.json`; missing keys take
/// `transformers`' defaults, so ViT-B/32, B/16, L/14 and tiny test models all load.
public struct CLIPConfiguration: Sendable, Hashable {
  /// The text transformer (`text_config`).
  public struct Text: Sendable, Hashable {
    public var vocabularySize = 49408
    public var width = 512
    public var intermediateSize = 2048
    public var layers = 12
    public var heads = 8
    /// The context length, 77 for CLIP.
    public var maxPositions = 77
    public var activation = Activation.quickGELU
    public var layerNormEpsilon: Float = 1e-5
    /// 2 in the original OpenAI configs: the pooled token is then the argmax of the ids, as in transformers.
    public var eosTokenID = 49407

    public init() {}
  }

  /// The vision transformer (`vision_config`).
  public struct Vision: Sendable, Hashable {
    public var width = 768
    public var intermediateSize = 3072
    public var layers = 12
    public var heads = 12
    public var channels = 3
    public var imageSize = 224
    public var patchSize = 32
    public var activation = Activation.quickGELU
    public var layerNormEpsilon: Float = 1e-5

    public init() {}

    /// Patches per side.
    public var gridSide: Int { imageSize / patchSize }
    /// Patches plus the class token.
    public var tokens: Int { gridSide * gridSide + 1 }
  }

  public var text = Text()
  public var vision = Vision()
  /// The shared embedding width.
  public var projectionDimension = 512

  public init(text: Text = Text(), vision: Vision = Vision(), projectionDimension: Int = 512) {
    self.text = text
    self.vision = vision
    self.projectionDimension = projectionDimension
  }

  /// Reads `config.json`; `CLIPError.badConfiguration` names the file and the key.
  public init(contentsOf url: URL) throws {
    let path = url.path
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw CLIPError.cannotRead(path: path, reason: error.localizedDescription)
    }
    guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw CLIPError.badConfiguration(path: path, reason: "not a JSON object")
    }
    let reader = Reader(path: path)
    let textObject = (root["text_config"] as? [String: Any]) ?? (root["text_config_dict"] as? [String: Any]) ?? [:]
    let visionObject = (root["vision_config"] as? [String: Any]) ?? (root["vision_config_dict"] as? [String: Any]) ?? [:]
    var text = Text()
    try reader.int(textObject, "vocab_size", into: &text.vocabularySize)
    try reader.int(textObject, "hidden_size", into: &text.width)
    try reader.int(textObject, "intermediate_size", into: &text.intermediateSize)
    try reader.int(textObject, "num_hidden_layers", into: &text.layers)
    try reader.int(textObject, "num_attention_heads", into: &text.heads)
    try reader.int(textObject, "max_position_embeddings", into: &text.maxPositions)
    try reader.int(textObject, "eos_token_id", into: &text.eosTokenID)
    try reader.activation(textObject, into: &text.activation)
    try reader.float(textObject, "layer_norm_eps", into: &text.layerNormEpsilon)
    var vision = Vision()
    try reader.int(visionObject, "hidden_size", into: &vision.width)
    try reader.int(visionObject, "intermediate_size", into: &vision.intermediateSize)
    try reader.int(visionObject, "num_hidden_layers", into: &vision.layers)
    try reader.int(visionObject, "num_attention_heads", into: &vision.heads)
    try reader.int(visionObject, "num_channels", into: &vision.channels)
    try reader.int(visionObject, "image_size", into: &vision.imageSize)
    try reader.int(visionObject, "patch_size", into: &vision.patchSize)
    try reader.activation(visionObject, into: &vision.activation)
    try reader.float(visionObject, "layer_norm_eps", into: &vision.layerNormEpsilon)
    var projection = 512
    try reader.int(root, "projection_dim", into: &projection)
    self.init(text: text, vision: vision, projectionDimension: projection)
    try validate(path: path)
  }

  /// Sizes that are positive, bounded (no absurd allocation from a hostile file) and consistent.
  public func validate(path: String = "configuration") throws {
    func check(_ ok: Bool, _ reason: String) throws {
      if !ok { throw CLIPError.badConfiguration(path: path, reason: reason) }
    }
    let limit = 1 << 16
    for (name, value) in [("text hidden_size", text.width), ("text intermediate_size", text.intermediateSize),
                          ("text num_hidden_layers", text.layers), ("text num_attention_heads", text.heads),
                          ("text max_position_embeddings", text.maxPositions), ("vision hidden_size", vision.width),
                          ("vision intermediate_size", vision.intermediateSize), ("vision num_hidden_layers", vision.layers),
                          ("vision num_attention_heads", vision.heads), ("vision num_channels", vision.channels),
                          ("vision image_size", vision.imageSize), ("vision patch_size", vision.patchSize),
                          ("projection_dim", projectionDimension)] {
      try check(value > 0 && value <= limit, "\(name) = \(value) is outside 1...\(limit)")
    }
    try check(text.vocabularySize > 0 && text.vocabularySize <= 1 << 22, "text vocab_size = \(text.vocabularySize) is outside 1...\(1 << 22)")
    try check(text.width % text.heads == 0, "text hidden_size \(text.width) is not a multiple of its \(text.heads) heads")
    try check(vision.width % vision.heads == 0, "vision hidden_size \(vision.width) is not a multiple of its \(vision.heads) heads")
    try check(vision.imageSize % vision.patchSize == 0, "vision image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
  }

  /// ViT-B/16, the map encoder's model (`openai/clip-vit-base-patch16`).
  public static var vitB16: CLIPConfiguration {
    var configuration = CLIPConfiguration()
    configuration.vision.patchSize = 16
    configuration.text.eosTokenID = 2
    return configuration
  }

  private struct Reader {
    let path: String

    func int(_ object: [String: Any], _ key: String, into value: inout Int) throws {
      guard let raw = object[key], !(raw is NSNull) else { return }
      if let number = raw as? Int, !(raw is Bool) {
        value = number
      } else if let pair = raw as? [Int], pair.count == 2, pair[0] == pair[1] {
        value = pair[0]  // image_size / patch_size given as [h, w]
      } else {
        throw CLIPError.badConfiguration(path: path, reason: "'\(key)' is not an integer")
      }
    }

    func float(_ object: [String: Any], _ key: String, into value: inout Float) throws {
      guard let raw = object[key], !(raw is NSNull) else { return }
      guard let number = raw as? Double, number > 0, number < 1 else {
        throw CLIPError.badConfiguration(path: path, reason: "'\(key)' is not a small positive number")
      }
      value = Float(number)
    }

    func activation(_ object: [String: Any], into value: inout Activation) throws {
      guard let raw = object["hidden_act"], !(raw is NSNull) else { return }
      guard let name = raw as? String, let activation = Activation(rawValue: name) else {
        throw CLIPError.badConfiguration(path: path, reason: "hidden_act '\(raw)' is not one of \(Activation.allCases.map(\.rawValue))")
      }
      value = activation
    }
  }
}

/// A CLIP folder or its inputs cannot be used.
public enum CLIPError: Error, CustomStringConvertible, Sendable, Equatable {
  case cannotRead(path: String, reason: String)
  case badConfiguration(path: String, reason: String)
  case badVocabulary(path: String, reason: String)
  case badTokens(reason: String)

  public var description: String {
    switch self {
    case let .cannotRead(path, reason): return "cannot read \(path): \(reason)"
    case let .badConfiguration(path, reason): return "\(path): bad CLIP configuration: \(reason)"
    case let .badVocabulary(path, reason): return "\(path): bad CLIP tokenizer file: \(reason)"
    case let .badTokens(reason): return "bad token ids for the CLIP text tower: \(reason)"
    }
  }
}
