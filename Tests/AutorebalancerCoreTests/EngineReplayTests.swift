import Foundation
import Testing

@testable import AutorebalancerCore

struct EngineReplayTests {
    typealias F = EngineFixture

    @Test func decidedRebalancesRunThenCoolDown() {
        var replay = EngineReplay(
            policy: F.policy([F.skewRule(forDuration: 20, cooldown: 120)]),
            assumedDuration: 30,
            assumedOutcome: .balanced
        )
        var reasons: [BlockReason?] = []
        var actedAt: [Double] = []
        for i in 0..<30 {
            let at = F.time(Double(i) * 10)
            let result = replay.evaluate(F.snapshot(F.imbalanced, at: at))
            reasons.append(result.evaluations[0].whyNot?.reason)
            if result.rebalance != nil { actedAt.append(Double(i) * 10) }
        }
        // Acts at 20s; running until 50s; cooldown until 170s; acts again at 170s.
        #expect(actedAt == [20, 170])
        #expect(reasons[3] == .rebalanceRunning)
        #expect(reasons[5] == .cooldown)
        #expect(reasons[16] == .cooldown)
        #expect(replay.history(at: F.time(300)).rebalances.map(\.outcome) == [.balanced, .balanced])
    }

    @Test func reloadKeepsUnchangedRules() {
        let rule = F.skewRule(forDuration: 30)
        var replay = EngineReplay(policy: F.policy([rule]))
        _ = replay.evaluate(F.snapshot(F.imbalanced, at: F.time(0)))
        _ = replay.evaluate(F.snapshot(F.imbalanced, at: F.time(10)))
        var renamed = rule
        renamed.name = "renamed"
        replay.reload(F.policy([rule, renamed]))
        let result = replay.evaluate(F.snapshot(F.imbalanced, at: F.time(30)))
        #expect(result.rebalance?.rule == "skew")
        #expect(result.evaluations[1].state == .pending)
    }

    @Test func decisionRecordsEncodeAsTheDocumentedJSON() throws {
        let result = F.run(F.policy([F.skewRule(forDuration: 0)]), [F.imbalanced])[0]
        let line = try #require(result.rebalance).jsonLine()
        #expect(
            line.hasPrefix(
                #"{"time":"2026-11-20T10:00:00Z","cluster":"default/emqx-ee","rule":"skew","trigger":"skew","action":"rebalance","donors":["n0","n1","n2"],"recipients":["n3"],"#
            )
        )
        let decoded = try JSONDecoder().decode(DecisionRecord.self, from: Data(line.utf8))
        #expect(decoded == result.rebalance)
    }
}

struct EngineDataTests {
    typealias F = EngineFixture

    /// A source that reports sessions but no live connections (EMQX 4.4's custom-resource status) cannot serve
    /// connection-based partitioning: the node counts as missing, never as zero.
    @Test func aNodeWithoutLiveConnectionsIsMissingNotZero() {
        let at = F.time(0)
        let snapshot = ClusterSnapshot(
            cluster: F.cluster,
            takenAt: at,
            expectedNodes: ["a", "b"],
            nodes: [
                NodeObservation(name: "a", liveConnections: 5000, sessions: 5000, observedAt: at),
                NodeObservation(name: "b", sessions: 0, observedAt: at),
            ],
            facts: .assumedFine
        )
        let result = PolicyEngine.evaluate(
            F.policy([F.skewRule(forDuration: 0)]),
            snapshot: snapshot,
            history: .empty,
            at: at,
            previous: nil
        )
        #expect(result.decisions.isEmpty)
        #expect(result.evaluations[0].whyNot == WhyNot(.missingData, "node b has no live-connection count"))
    }

    @Test func withoutAnExpectedSetTheReportingNodesAreTheSet() {
        let at = F.time(0)
        let snapshot = ClusterSnapshot(
            cluster: F.cluster,
            takenAt: at,
            expectedNodes: nil,
            nodes: [
                NodeObservation(name: "core-0", role: .core, liveConnections: 9000, observedAt: at),
                NodeObservation(name: "rep-0", role: .replicant, liveConnections: 4000, observedAt: at),
                NodeObservation(name: "rep-1", role: .replicant, liveConnections: 0, observedAt: at),
            ],
            facts: .assumedFine
        )
        let result = PolicyEngine.evaluate(
            F.policy([F.skewRule(forDuration: 0)]),
            snapshot: snapshot,
            history: .empty,
            at: at,
            previous: nil
        )
        // Only replicants are rebalanced: core-0's 9000 connections do not count.
        #expect(result.rebalance?.donors == ["rep-0"])
        #expect(result.rebalance?.recipients == ["rep-1"])
        #expect(result.rebalance?.connections == ["rep-0": 4000, "rep-1": 0])
    }
}
