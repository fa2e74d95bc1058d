import Foundation
import MISCCoding
import MISCImage
import MISCNeural

/// The paper's map encoder: CLIP Surgery on a CLIP ViT, run on the CPU, then each item's similarity map
/// pooled to the grid and thresholded (../shared/MISC-NOTES.md, "Map encoder").
public struct CLIPSurgeryLocator: Locator {
  public let model: CLIPModel
  public let tokenizer: CLIPTokenizer
  public var configuration: Configuration {
    didSet { if configuration.templates != oldValue.templates { cache = TextFeatureCache() } }
  }
  /// Ensemble features by name, for the current templates.
  private(set) var cache = TextFeatureCache()

  public init(model: CLIPModel, tokenizer: CLIPTokenizer, configuration: Configuration = Configuration()) {
    self.model = model
    self.tokenizer = tokenizer
    self.configuration = configuration
  }

  /// Loads a local Hugging Face CLIP folder: config.json, model.safetensors, vocab.json, merges.txt.
  public init(directory: URL, configuration: Configuration = Configuration()) throws {
    try self.init(model: CLIPModel(directory: directory), tokenizer: CLIPTokenizer(directory: directory),
                  configuration: configuration)
  }

  public func locate(_ names: [String], in image: Image, grid: GridSize) async throws -> [BinaryMap] {
    try located(names, in: image, grid: grid).map(\.map)
  }

  /// Each item's patch-grid similarity, its pooled grid values and its binary map.
  public func located(_ names: [String], in image: Image, grid: GridSize) throws -> [LocatedItem] {
    precondition(grid.width > 0 && grid.height > 0, "a map grid needs cells")
    return try similarityMaps(names, in: image).map { similarity in
      let pooled = similarity.pooled(to: grid, imageWidth: image.width, imageHeight: image.height)
      let map = BinaryMap(width: grid.width, height: grid.height, cells: pooled.map { $0 > configuration.threshold })
      return LocatedItem(similarity: similarity, pooled: pooled, map: map)
    }
  }

  /// CLIP Surgery's similarity of each name over the patch grid, min–max normalised per item.
  ///
  /// `S[n, j] = f_n · (t_j − r)` for every patch token n, where f are the surgery features normalised
  /// along the feature axis (or, with `normalizesTokenAxis`, along the token axis as the authors' demo
  /// did), t_j the prompt-ensemble feature of name j and r that of the empty string.
  public func similarityMaps(_ names: [String], in image: Image) throws -> [SimilarityMap] {
    guard !names.isEmpty else { return [] }
    let vision = model.configuration.vision
    let pixels = CLIPPreprocessor(size: vision.imageSize, resize: configuration.resize)(image)
    let features = normalizedFeatures(model.vision.surgeryFeatures(pixels, blocks: min(configuration.surgeryBlocks, vision.layers)))
    let ensembles = try textFeatures(names + [""])
    let redundant = ensembles.row(names.count)
    let dimension = features.columns
    let (tokens, side) = (features.rows, vision.gridSide)
    return names.enumerated().map { j, name in
      var direction = [Float](repeating: 0, count: dimension)
      for c in 0..<dimension { direction[c] = ensembles.scalars[j * dimension + c] - redundant.scalars[c] }
      var values = [Float](repeating: 0, count: tokens - 1)
      for n in 1..<tokens {
        var dot: Float = 0
        for c in 0..<dimension { dot += features.scalars[n * dimension + c] * direction[c] }
        values[n - 1] = dot
      }
      let (low, high) = (values.min() ?? 0, values.max() ?? 0)
      let range = high - low
      values = values.map { range > 0 ? ($0 - low) / range : 0 }
      return SimilarityMap(name: name, width: side, height: side, values: values)
    }
  }

  /// The prompt-ensemble text feature of each name: every template encoded and L2-normalised, the
  /// mean taken and normalised again. Names seen before come from the cache. [names, projection]
  public func textFeatures(_ names: [String]) throws -> Tensor {
    let templates = configuration.templates
    precondition(!templates.isEmpty, "the prompt ensemble needs templates")
    var known: [String: [Float]] = [:]
    for name in names { if let feature = cache.feature(name) { known[name] = feature } }
    var missing: [String] = []
    for name in names where known[name] == nil && !missing.contains(name) { missing.append(name) }
    if !missing.isEmpty {
      // Every prompt continues its template's prompt for the empty name ("a photo of a ." and "a photo
      // of a parrot." share "a photo of a"), whose states are computed once per locator and kept.
      let states: CLIPTextTransformer.States
      if let kept = cache.promptStates {
        states = kept
      } else {
        let ids = CLIPSurgeryPrompts.prompts(for: "", templates: templates).map(tokenizer.encode)
        let (embeddings, kept) = try model.text.encode(ids, keepingStates: true)
        states = kept!
        cache.storePromptStates(states)
        if cache.feature("") == nil { cache.store("", Self.ensemble(embeddings, item: 0, templates: templates.count)) }
        if missing.contains("") { known[""] = cache.feature("") }
      }
      missing.removeAll { known[$0] != nil }
      if !missing.isEmpty {
        let ids = missing.flatMap { name in CLIPSurgeryPrompts.prompts(for: name, templates: templates).map(tokenizer.encode) }
        let templateOf = missing.indices.flatMap { _ in templates.indices.map { Optional($0) } }
        let embeddings = try model.text.encode(ids, continuing: (states, templateOf)).embeddings
        for (j, name) in missing.enumerated() {
          let feature = Self.ensemble(embeddings, item: j, templates: templates.count)
          known[name] = feature
          cache.store(name, feature)
        }
      }
    }
    let rows = names.map { known[$0]! }
    return Tensor(shape: [names.count, rows.first?.count ?? model.configuration.projectionDimension], scalars: rows.flatMap { $0 })
  }

  /// One item's ensemble feature from its templates' embeddings (rows item·templates ..< (item+1)·templates):
  /// each row L2-normalised, the mean taken and normalised again. -> [projection]
  private static func ensemble(_ embeddings: Tensor, item j: Int, templates: Int) -> [Float] {
    let dimension = embeddings.columns
    var mean = [Float](repeating: 0, count: dimension)
    embeddings.scalars.withUnsafeBufferPointer { rows in
      for t in 0..<templates {
        let row = rows.baseAddress! + (j * templates + t) * dimension
        var squares: Float = 0
        for c in 0..<dimension { squares += row[c] * row[c] }
        let norm = squares.squareRoot()
        for c in 0..<dimension { mean[c] += norm > 0 ? row[c] / norm : row[c] }
      }
    }
    return Tensor(shape: [dimension], scalars: mean.map { $0 / Float(templates) }).normalized().scalars
  }

  /// Each token's feature divided by its norm, or each feature channel by its norm over the tokens.
  /// [tokens, projection] -> [tokens, projection]
  private func normalizedFeatures(_ features: Tensor) -> Tensor {
    let (tokens, dimension) = (features.rows, features.columns)
    var result = features
    if configuration.normalizesTokenAxis {
      for c in 0..<dimension {
        var sum: Float = 0
        for n in 0..<tokens { sum += features.scalars[n * dimension + c] * features.scalars[n * dimension + c] }
        let norm = sum.squareRoot()
        if norm > 0 { for n in 0..<tokens { result.scalars[n * dimension + c] /= norm } }
      }
    } else {
      result.scalars.withUnsafeMutableBufferPointer { values in
        for n in 0..<tokens {
          let row = values.baseAddress! + n * dimension
          var squares: Float = 0
          for c in 0..<dimension { squares += row[c] * row[c] }
          let norm = squares.squareRoot()
          if norm > 0 { for c in 0..<dimension { row[c] /= norm } }
        }
      }
    }
    return result
  }
}

/// One item located: its similarity over the patches, the values pooled to the grid and the map.
public struct LocatedItem: Sendable, Hashable {
  public var similarity: SimilarityMap
  /// [grid height, grid width] row-major, before thresholding.
  public var pooled: [Float]
  public var map: BinaryMap
}
