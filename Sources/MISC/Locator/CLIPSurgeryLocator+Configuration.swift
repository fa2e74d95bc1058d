import MISCNeural

extension CLIPSurgeryLocator {
  /// How the image becomes CLIP's square input.
  public typealias Resize = CLIPPreprocessor.Resize

  /// The map encoder's constants, defaulting to the authors' (../shared/MISC-NOTES.md).
  public struct Configuration: Sendable, Hashable {
    /// A grid cell is set when its pooled similarity is above this.
    public var threshold: Float = 0.35
    /// The last blocks that get the v-v attention path (6 of ViT-B/16's 12); capped at the tower's depth.
    public var surgeryBlocks = 6
    /// The paper squashes the whole image to 224x224; `.shortestSideCenterCrop` is CLIP's usual input.
    public var resize = Resize.squash
    /// Normalise the image features over the token axis (dim=1), the old CLIP Surgery demo's bug; off
    /// by default, for reproductions only.
    public var normalizesTokenAxis = false
    /// The prompt ensemble; `{}` stands for the item name.
    public var templates = CLIPSurgeryPrompts.templates

    /// The authors' constants; `threshold` overrides theirs when given.
    public init(threshold: Float? = nil) {
      if let threshold { self.threshold = threshold }
    }
  }
}
