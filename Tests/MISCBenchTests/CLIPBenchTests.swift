import MISCNeural
import Testing
@testable import MISCBench

@Suite struct CLIPBenchTests {
  @Test func medianOfOddAndEvenCounts() {
    #expect(CLIPBench.median([3, 1, 2]) == 2)
    #expect(CLIPBench.median([4, 1, 3, 2]) == 2.5)
    #expect(CLIPBench.median([]) == 0)
  }

  @Test func visionShapesNameEveryHuggingFaceTensor() {
    let shapes = CLIPBench.visionShapes(.vitB16)
    #expect(shapes["vision_model.embeddings.patch_embedding.weight"] == [768, 3, 16, 16])
    #expect(shapes["vision_model.encoder.layers.11.mlp.fc1.weight"] == [3072, 768])
    #expect(shapes.count == 8 + 12 * 16)
  }
}
