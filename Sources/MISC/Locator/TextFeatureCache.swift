import Foundation
import MISCNeural

/// Prompt-ensemble features already computed, by name: the empty string's redundant feature is then
/// encoded once per locator, and a name seen before (a batch of similar photos) costs nothing.
/// Shared by copies of a locator; bounded, cleared whole when full.
final class TextFeatureCache: @unchecked Sendable {
  private let lock = NSLock()
  private var features: [String: [Float]] = [:]
  let capacity: Int

  init(capacity: Int = 256) {
    self.capacity = capacity
  }

  /// [projection] for `name`, if cached.
  func feature(_ name: String) -> [Float]? {
    lock.withLock { features[name] }
  }

  func store(_ name: String, _ feature: [Float]) {
    lock.withLock {
      if features.count >= capacity { features.removeAll(keepingCapacity: true) }
      features[name] = feature
      stores += 1
    }
  }

  /// The text tower's states for the empty name's prompts, which every other name's prompts continue.
  var promptStates: CLIPTextTransformer.States? { lock.withLock { states } }
  private var states: CLIPTextTransformer.States?

  func storePromptStates(_ states: CLIPTextTransformer.States) {
    lock.withLock { self.states = states }
  }

  /// Features stored since the cache was made: one per ensemble the text tower computed.
  var storeCount: Int { lock.withLock { stores } }
  private var stores = 0
}
