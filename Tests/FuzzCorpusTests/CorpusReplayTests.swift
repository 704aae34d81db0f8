import Foundation
import Testing

@testable import FuzzEntryPoints

/// Replays the committed fuzzing corpus (`Fuzz/Corpus/<target>/`) through the same entry points the fuzzers run, so
/// every input that once crashed a parser or broke a promise stays a regression case without libFuzzer.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus")

    static func inputs(of target: String) throws -> [URL] {
        let directory = corpus.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.hasDirectoryPath }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test(arguments: HostileInput.targets.map(\.name))
    func everyCorpusInputKeepsItsPromises(target name: String) throws {
        let target = try #require(HostileInput.target(named: name))
        let inputs = try Self.inputs(of: name)
        // A target without seeds would replay nothing and pass; each has at least a valid and a hostile input.
        #expect(inputs.count >= 2, "Fuzz/Corpus/\(name) holds \(inputs.count) inputs")
        for input in inputs {
            let broken = target.check(Array(try Data(contentsOf: input)))
            #expect(broken.isEmpty, "\(name)/\(input.lastPathComponent): \(broken.joined(separator: "; "))")
        }
    }

    /// The engine target's promises mean something only if its inputs reach decisions: a real imbalance decides a
    /// Rebalance, a balanced cluster none.
    @Test func theEngineTargetReachesDecisions() throws {
        func rebalances(_ name: String) throws -> Int {
            EngineInput.replay(Array(try Data(contentsOf: Self.corpus.appendingPathComponent("engine/\(name)"))))
                .rebalances
        }
        #expect(try rebalances("imbalanced") >= 1)
        #expect(try rebalances("balanced") == 0)
    }

    /// Every corpus directory belongs to an entry point (a renamed target cannot leave its corpus unreplayed).
    @Test func everyCorpusDirectoryHasAnEntryPoint() throws {
        let directories = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(directories == HostileInput.targets.map(\.name).sorted())
    }
}
