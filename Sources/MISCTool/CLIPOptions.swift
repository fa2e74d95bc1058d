import ArgumentParser
import Foundation
import MISC

/// The map encoder's model, shared by `misc locate` and `misc encode`: `--clip-model`, else
/// `MISC_CLIP_MODEL`. A locator is configured when either names a folder.
struct CLIPOptions: ParsableArguments {
  @Option(name: .customLong("clip-model"), help: ArgumentHelp(
    "A local Hugging Face CLIP folder for the item maps (default: $MISC_CLIP_MODEL).",
    discussion: "It needs config.json, model.safetensors, vocab.json and merges.txt, e.g. a download of openai/clip-vit-base-patch16; see docs/CLIP.md."),
    completion: .directory)
  var clipModel: String?

  /// How to configure the map encoder, for notices and errors.
  static let howTo = """
    point --clip-model (or MISC_CLIP_MODEL) at a local openai/clip-vit-base-patch16 folder holding config.json, \
    model.safetensors, vocab.json and merges.txt (on a machine with internet: `huggingface-cli download \
    openai/clip-vit-base-patch16 config.json model.safetensors vocab.json merges.txt --local-dir DIR`; see docs/CLIP.md)
    """

  /// The folder from the flag or the environment, or nil.
  var directory: String? {
    if let clipModel { return clipModel }
    if let value = ProcessInfo.processInfo.environment["MISC_CLIP_MODEL"], !value.isEmpty { return value }
    return nil
  }

  func validate() throws {
    guard let directory else { return }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
      let source = clipModel != nil ? "--clip-model" : "MISC_CLIP_MODEL"
      throw ValidationError("\(source) '\(directory)' is not a directory; \(Self.howTo)")
    }
  }

  /// The CLIP Surgery locator, or nil when no model is configured; a configured but unusable folder
  /// is an error that names the file.
  func makeLocator(configuration: CLIPSurgeryLocator.Configuration = .init()) throws -> (any Locator)? {
    try makeSurgeryLocator(configuration: configuration)
  }

  func makeSurgeryLocator(configuration: CLIPSurgeryLocator.Configuration = .init()) throws -> CLIPSurgeryLocator? {
    guard let directory else { return nil }
    return try CLIPSurgeryLocator(directory: URL(fileURLWithPath: directory), configuration: configuration)
  }
}
