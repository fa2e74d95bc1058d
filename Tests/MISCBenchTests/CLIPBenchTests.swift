import Foundation
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

  /// bench_torch.py --mode text builds the same ids: 85 prompts, 935 tokens, padded there to 85 x 13.
  @Test func promptIDsAreOneItemsEnsemble() {
    let ids = CLIPBench.promptIDs
    #expect(ids.count == 85)
    #expect(ids.joined().count == 935)
    #expect(ids.map(\.count).min() == 9 && ids.map(\.count).max() == 13)
    #expect(ids.allSatisfy { $0.first == 49406 && $0.last == 49407 })
    #expect(ids[1] == [49406, 321, 328, 335, 342, 349, 356, 363, 370, 49407])
  }

  @Test func oneTimingLoopGivesWallAndCPUSamplesAfterAWarmUp() {
    var calls = 0
    let samples = CLIPBench.time(runs: 3) { calls += 1 }
    #expect(calls == 4)
    #expect(samples.wall.count == 3 && samples.cpu.count == 3)
    #expect(samples.wall.allSatisfy { $0 >= 0 } && samples.cpu.allSatisfy { $0 >= 0 })
    let timing = CLIPBench.timing(CLIPBench.Samples(wall: [0.3, 0.1, 0.2], cpu: [0.5, 0.4, 0.6]), model: "m", mode: .surgery)
    #expect(timing.medianSeconds == 0.2 && timing.minSeconds == 0.1 && timing.cpuMedianSeconds == 0.5 && timing.runs == 3)
    #expect(timing.surgery)
  }

  @Test func timingJSONHasModeAndCPUMedian() throws {
    let timing = CLIPBench.Timing(model: "85 prompts, 935 tokens", mode: .text, threads: 1, runs: 7,
                                  medianSeconds: 1.2, minSeconds: 1.1, cpuMedianSeconds: 0.8)
    let object = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(timing)) as? [String: Any])
    #expect(object["mode"] as? String == "text")
    #expect(object["cpu_median_s"] as? Double == 0.8)
    #expect(object["median_s"] as? Double == 1.2 && object["min_s"] as? Double == 1.1)
    #expect(object["surgery"] as? Bool == false)
  }

  @Test func torchJSONLineIsTheLastLine() throws {
    let output = """
      some warning on stdout
      {"torch": "2.15.0", "mode": "surgery", "threads": 2, "attention": "eager", "runs": 7, "median_s": 0.8, "min_s": 0.7, "cpu_median_s": 1.5}

      """
    let timing = try #require(CLIPBench.parseTorchTiming(output, mode: .surgery))
    #expect(timing.threads == 2 && timing.runs == 7 && timing.mode == .surgery)
    #expect(timing.medianSeconds == 0.8 && timing.minSeconds == 0.7 && timing.cpuMedianSeconds == 1.5)
    #expect(CLIPBench.parseTorchTiming("Traceback (most recent call last):\nModuleNotFoundError: torch\n", mode: .image) == nil)
  }

  @Test func comparisonRatiosAndLoad() {
    let swift = CLIPBench.Timing(model: "s", mode: .image, threads: 1, runs: 7, medianSeconds: 0.87, minSeconds: 0.8, cpuMedianSeconds: 0.441)
    let torch = CLIPBench.Timing(model: "t", mode: .image, threads: 1, runs: 7, medianSeconds: 0.987, minSeconds: 0.9, cpuMedianSeconds: 0.49)
    let quiet = CLIPBench.Comparison(swift: swift, torch: torch, loadAverage: 0.5, cores: 2)
    #expect(abs(quiet.wallRatio - 0.87 / 0.987) < 1e-12 && abs(quiet.cpuRatio - 0.9) < 1e-12)
    #expect(!quiet.loaded)
    #expect(CLIPBench.Comparison(swift: swift, torch: torch, loadAverage: 5.8, cores: 2).loaded)
    #expect(CLIPBench.Comparison(swift: swift, torch: torch, loadAverage: nil, cores: 2).loaded)
    #expect(CLIPBench.loadAverages(from: "5.80 6.20 7.00 3/400 1234\n") == [5.8, 6.2, 7.0])
    #expect(CLIPBench.loadAverages(from: "") == nil)
    // Other processes' busy cores decide when known: the bench's own threads raise the load average.
    #expect(!CLIPBench.Comparison(swift: swift, torch: torch, loadAverage: 1.9, otherCores: 0.05, cores: 2).loaded)
    #expect(CLIPBench.Comparison(swift: swift, torch: torch, loadAverage: 1.2, otherCores: 0.8, cores: 2).loaded)
  }

  @Test func otherProcessesCores() throws {
    let stat = "cpu  1000 20 300 5000 40 5 15 10 0 0\ncpu0 500 10 150 2500 20 2 7 5 0 0\n"
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    #expect(CPUUsage.machineBusySeconds(procStat: stat) == 1350 / ticks)
    #expect(CPUUsage.machineBusySeconds(procStat: "intr 1 2 3\n") == nil)
    let start = CPUUsage(machineBusySeconds: 100, ownSeconds: 10, wallSeconds: 1000)
    // 10 s of wall: the machine was busy 14 core-seconds, 9 of them this process's.
    let end = CPUUsage(machineBusySeconds: 114, ownSeconds: 19, wallSeconds: 1010)
    #expect(try #require(end.otherCores(since: start)) == 0.5)
    #expect(CPUUsage(machineBusySeconds: 101, ownSeconds: 19, wallSeconds: 1010).otherCores(since: start) == 0)
    #expect(start.otherCores(since: start) == nil)
    #expect(try #require(CPUUsage.now()).ownSeconds > 0)
  }

  @Test func comparisonNeedsTheScript() {
    #expect(throws: BenchError.self) {
      try CLIPBench.compareWithTorch(python: "python3", script: "/nonexistent/bench_torch.py", mode: .image, runs: 1)
    }
  }
}
