import Foundation
import Testing

@testable import AutorebalancerCore

struct BacktestRunnerTests {
    typealias F = BacktestFixture

    @Test func scaleOutDecidesOnceAtAppearancePlusFor() throws {
        // Three nodes hold 3333 each; a fourth appears empty at step 10 (300 s) and stays empty.
        let data = F.matrix(nodes: 4, steps: 40) { node, i in node == 3 ? (i >= 10 ? 0 : nil) : 3333 }
        let report = try F.run(
            F.policy([F.rule("scale-out", .scaleOut), F.rule("restart", .restart)]),
            connections: data
        )
        #expect(report.steps == 40)
        #expect(F.offsets(report.decisions) == [360])
        let decision = try #require(report.decisions.first)
        #expect(decision.rule == "scale-out")
        #expect(decision.action == .rebalance)
        #expect(decision.recipients == ["n3"])
        #expect(decision.cluster == "default/emqx-ee")
        #expect(decision.formula.contains("imbalanced"))
        // Pending while `for` runs, then cooling down with the imbalance still in the history.
        #expect(report.blocked.contains { $0.rule == "scale-out" && $0.reason == .pending && $0.time == F.time(330) })
        #expect(report.blocked.contains { $0.rule == "scale-out" && $0.reason == .cooldown })
    }

    @Test func restartAfterAGapFiresTheRestartRule() throws {
        // n3 vanishes for steps 10...13 and comes back nearly empty at step 14 (420 s).
        let data = F.matrix(nodes: 4, steps: 30) { node, i in
            guard node == 3 else { return 2500 }
            if (10...13).contains(i) { return nil }
            return i >= 14 ? 5 : 2500
        }
        let report = try F.run(
            F.policy([F.rule("scale-out", .scaleOut), F.rule("restart", .restart, forDuration: 120)]),
            connections: data
        )
        #expect(report.decisions.map(\.rule) == ["restart"])
        #expect(F.offsets(report.decisions) == [540])
        // During the gap the old sample turns stale: held back, never taken as zero.
        #expect(report.blocked.contains { $0.reason == .staleData && $0.time == F.time(360) })
        #expect(report.timeline[12].connections["n3"] == nil)
        #expect(report.timeline[10].connections["n3"] == 2500)
    }

    @Test func flappingFasterThanForNeverDecides() throws {
        let data = F.matrix(nodes: 4, steps: 60) { node, i in node == 3 ? (i.isMultiple(of: 2) ? 0 : 2500) : 2500 }
        let report = try F.run(F.policy([F.rule("skew", .skew, forDuration: 60)]), connections: data)
        #expect(report.decisions.isEmpty)
        #expect(report.blockedPerReason == ["pending": 30])

        // The same imbalance held for longer than `for` does decide (the test can fail); the history still shows the
        // imbalance after the decision, so the rule acts again once its 15 m cooldown is over.
        let steady = F.matrix(nodes: 4, steps: 60) { node, _ in node == 3 ? 0 : 2500 }
        let steadyReport = try F.run(F.policy([F.rule("skew", .skew, forDuration: 60)]), connections: steady)
        #expect(F.offsets(steadyReport.decisions) == [60, 960])
    }

    @Test func aMissingNodeHoldsEverythingBack() throws {
        // n0 stops reporting for steps 10...25 while n1..n3 continue, imbalanced during the gap; n0 then comes back.
        func data(gap: Bool) -> Data {
            F.matrix(nodes: 4, steps: 30) { node, i in
                let inGap = (10...25).contains(i)
                if node == 0 { return gap && inGap ? nil : 2500 }
                if node == 3 { return inGap ? 0 : 2500 }
                return 2500
            }
        }
        let policy = F.policy([F.rule("skew", .skew, forDuration: 60)])
        let report = try F.run(policy, connections: data(gap: true))
        #expect(report.decisions.isEmpty)
        #expect(report.blockedPerReason["stale-data", default: 0] > 0)
        #expect(report.blockedPerReason["missing-data", default: 0] > 0)
        #expect(report.blocked.first { $0.reason == .missingData }?.detail?.contains("n0") == true)
        // Without the gap the same imbalance is acted on.
        #expect(F.offsets(try F.run(policy, connections: data(gap: false)).decisions) == [360])
    }

    @Test(arguments: [(cooldown: 1200.0, decisions: [60.0]), (cooldown: 300.0, decisions: [60.0, 510.0])])
    func cooldownSpansTheSecondEpisode(cooldown: TimeInterval, decisions: [Double]) throws {
        // Imbalanced for steps 0...9, balanced 10...14, imbalanced again from 15 (450 s).
        let data = F.matrix(nodes: 4, steps: 26) { node, i in node == 3 && !(10...14).contains(i) ? 0 : 2500 }
        let report = try F.run(
            F.policy([F.rule("skew", .skew, forDuration: 60, cooldown: cooldown)]),
            connections: data
        )
        #expect(F.offsets(report.decisions) == decisions)
        if decisions.count == 1 {
            #expect(report.blocked.contains { $0.reason == .cooldown && $0.time == F.time(510) })
        }
    }

    @Test func withoutSessionsTheSessionThresholdsAreSkippedAndSaidOnce() throws {
        // Connections balanced at the rule's thresholds (n2 is the recipient), sessions imbalanced.
        let connections = F.matrix(nodes: 3, steps: 10) { node, _ in node == 2 ? 1500 : 2000 }
        let sessions = F.matrix(nodes: 3, steps: 10) { node, _ in node == 2 ? 0 : 4000 }
        let sessionsBoth = F.rule("both", .skew, forDuration: 0, sessions: F.threshold)
        let sessionsOnly = F.rule("sessions-only", .skew, forDuration: 0, connections: nil, sessions: F.threshold)
        let policy = F.policy([sessionsBoth, sessionsOnly])

        let withSessions = try F.run(policy, connections: connections, sessions: sessions)
        #expect(withSessions.sessionsNote == nil)
        #expect(withSessions.decisions.first?.rule == "both")
        #expect(withSessions.decisions.first?.sessions == ["n0": 4000, "n1": 4000, "n2": 0])

        let without = try F.run(policy, connections: connections)
        #expect(without.decisions.isEmpty)
        #expect(without.rulesWithoutSessions == ["both"])
        #expect(without.rulesNotEvaluated == ["sessions-only"])
        let note = try #require(without.sessionsNote)
        #expect(note.contains("session thresholds skipped"))
        let text = BacktestOutput.textLines(without, explain: true)
        #expect(text.first == "note: \(note)")
        #expect(text.filter { $0.contains("session thresholds skipped") }.count == 1)
        let summary = try #require(BacktestOutput.jsonLines(without, explain: false).last)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: [String: Any]]
        )
        #expect(object["summary"]?["note"] as? String == note)
    }

    @Test func aClusterTooSmallToMatterIsNotHeldBack() throws {
        // 300 connections in all, below the rule's minConnections of 1000: the condition does not hold.
        let data = F.matrix(nodes: 3, steps: 10) { node, _ in node == 2 ? 0 : 150 }
        let report = try F.run(F.policy([F.rule("skew", .skew, forDuration: 0)]), connections: data)
        #expect(report.decisions.isEmpty)
        #expect(report.blocked.isEmpty)
    }

    @Test func aGridStepSamplesTheLatestValueWithinTheLookback() throws {
        let data = F.matrix(nodes: 2, steps: 5) { node, i in Double(1000 * (node + 1) + i) }
        let report = try F.run(F.policy([F.rule("skew", .skew)]), connections: data, step: 45)
        #expect(report.timeline.map { $0.time.timeIntervalSince(F.t0) } == [0, 45, 90])
        // At 45 s the newest sample is the one of 30 s.
        #expect(report.timeline[1].connections == ["n0": 1001, "n1": 2001])
    }

    @Test func progressIsReportedForEveryStep() throws {
        let data = F.matrix(nodes: 2, steps: 7) { _, _ in 100 }
        var calls: [(Int, Int)] = []
        _ = BacktestRunner.run(
            policy: F.policy([F.rule("skew", .skew)]),
            connections: try F.series(data),
            sessions: nil,
            options: .init(cluster: F.cluster)
        ) { calls.append(($0, $1)) }
        #expect(calls.map(\.0) == Array(1...7))
        #expect(calls.allSatisfy { $0.1 == 7 })
    }

    @Test(.enabled(if: BacktestSharedFixtures.available, "../shared/fixtures not found next to the package: skipped"))
    func realPrometheusQueryRangeAnswer() throws {
        let url = try #require(BacktestSharedFixtures.directory).appendingPathComponent(
            "prometheus/query-range-live-connections.json"
        )
        let series = try BacktestMatrix.series(from: Data(contentsOf: url), file: url.lastPathComponent, nodeLabel: nil)
        #expect(series.map(\.node) == (0...3).map { "emqx@emqx-ee-\($0).emqx-ee-headless.default.svc.cluster.local" })
        #expect(BacktestMatrix.clusterFromLabels(series) == ClusterReference(namespace: "default", name: "emqx-ee"))
        // The fourth node joined empty and grows slowly: a skew rule with a 10 s `for` acts 10 s into the range.
        let report = BacktestRunner.run(
            policy: F.policy([F.rule("skew", .skew, forDuration: 10)]),
            connections: series,
            sessions: nil,
            options: .init(cluster: F.cluster)
        )
        let first = try #require(series.first?.samples.first?.time)
        #expect(report.steps == 9)
        #expect(report.decisions.map { $0.time.timeIntervalSince(first) } == [10])
        #expect(report.decisions.first?.recipients == ["emqx@emqx-ee-3.emqx-ee-headless.default.svc.cluster.local"])
        #expect(
            try BacktestMatrix.series(from: Data(contentsOf: url), file: "x", nodeLabel: "pod").map(\.node)
                == (0...3).map { "emqx-ee-\($0)" }
        )
    }
}
