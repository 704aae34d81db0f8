import Foundation
import Testing

@testable import AutorebalancerCore

/// Builders for engine tests (kept in this file: the shared fixture file belongs to another suite).
enum EngineFixture {
    static let cluster = ClusterReference(namespace: "default", name: "emqx-ee", kind: .emqxEnterprise)
    static let t0 = Date(timeIntervalSince1970: 1_795_168_800)  // 2026-11-20T10:00:00Z

    static func time(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    static func skewRule(
        name: String = "skew",
        forDuration: TimeInterval = 60,
        cooldown: TimeInterval = 600,
        action: RuleAction = .rebalance,
        priority: Int = 0,
        connections: BalanceThreshold? = BalanceThreshold(absolute: 200, relative: 1.2)
    ) -> Rule {
        Rule(
            name: name,
            trigger: .skew,
            connections: connections,
            forDuration: forDuration,
            cooldown: cooldown,
            action: action,
            strategy: StrategyTemplate(connEvictRate: .fixed(10), absConnThreshold: 100, relConnThreshold: "1.1"),
            priority: priority
        )
    }

    static func policy(
        _ rules: [Rule],
        interval: TimeInterval = 10,
        paused: Bool = false,
        windows: [MaintenanceWindow] = []
    ) -> Policy {
        Policy(
            name: "test",
            evaluationInterval: interval,
            staleness: 60,
            paused: paused,
            maintenanceWindows: windows,
            rules: rules
        )
    }

    /// A snapshot where `counts[i]` is node `n<i>`'s live connections (nil: no sample), observed at `at`.
    static func snapshot(
        _ counts: [Double?],
        at: Date,
        facts: ClusterFacts = .assumedFine,
        expected: [String]? = nil,
        observedAt: Date? = nil
    ) -> ClusterSnapshot {
        let names = counts.indices.map { "n\($0)" }
        let nodes = zip(names, counts).compactMap { name, count in
            count.map { NodeObservation(name: name, liveConnections: $0, sessions: $0, observedAt: observedAt ?? at) }
        }
        return ClusterSnapshot(
            cluster: cluster,
            takenAt: at,
            expectedNodes: expected ?? names,
            nodes: nodes,
            facts: facts
        )
    }

    /// Runs the engine over `steps` (counts per step, one step per `interval`), returning every result.
    static func run(
        _ policy: Policy,
        _ steps: [[Double?]],
        facts: (Int) -> ClusterFacts = { _ in .assumedFine },
        history: ActionHistory = .empty,
        previous: ClusterEngineState? = nil,
        startingAt start: Double = 0
    ) -> [EngineResult] {
        var state = previous
        var results: [EngineResult] = []
        for (i, counts) in steps.enumerated() {
            let at = time(start + Double(i) * policy.evaluationInterval)
            // As `test` and `backtest` do: no actuator, a decided rebalance is confirmed at once.
            let result = PolicyEngine.evaluate(
                policy,
                snapshot: snapshot(counts, at: at, facts: facts(i)),
                history: history,
                at: at,
                previous: state
            )
            .confirmedAtOnce()
            state = result.state
            results.append(result)
        }
        return results
    }

    static let imbalanced: [Double?] = [3333, 3333, 3334, 0]
    static let balanced: [Double?] = [2500, 2500, 2500, 2500]
}

struct EngineTransitionTests {
    typealias F = EngineFixture

    /// Each row: the input sequence (`true` imbalanced, `false` balanced), and the state after each step, with
    /// `for` = 30s on a 10s clock.
    @Test(arguments: [
        ([true], [RuleState.pending]),
        ([false], [.inactive]),
        ([true, true, true], [.pending, .pending, .pending]),
        ([true, true, true, true], [.pending, .pending, .pending, .acted]),
        ([true, true, true, true, true], [.pending, .pending, .pending, .acted, .coolingDown]),
        ([true, true, false, true, true, true], [.pending, .pending, .inactive, .pending, .pending, .pending]),
        ([true, true, true, true, false], [.pending, .pending, .pending, .acted, .coolingDown]),
    ])
    func states(_ imbalance: [Bool], _ expected: [RuleState]) {
        let policy = F.policy([F.skewRule(forDuration: 30)])
        let results = F.run(policy, imbalance.map { $0 ? F.imbalanced : F.balanced })
        #expect(results.map { $0.evaluations[0].state } == expected)
        #expect(results.filter { $0.rebalance != nil }.count == (expected.contains(.acted) ? 1 : 0))
    }

    @Test func pendingReportsTimeLeftOnFor() {
        let policy = F.policy([F.skewRule(forDuration: 120)])
        let results = F.run(policy, Array(repeating: F.imbalanced, count: 5))
        let last = results[4].evaluations[0]
        #expect(last.state == .pending)
        #expect(last.forRemaining == 80)
        #expect(last.whyNot == WhyNot(.pending, "for not yet elapsed: 40s of 2m"))
    }

    @Test func actingProducesTheFullDecisionRecord() throws {
        let policy = F.policy([F.skewRule(forDuration: 0)])
        let result = F.run(policy, [F.imbalanced])[0]
        let decision = try #require(result.rebalance)
        #expect(decision.rule == "skew")
        #expect(decision.cluster == "default/emqx-ee")
        #expect(decision.donors == ["n0", "n1", "n2"])
        #expect(decision.recipients == ["n3"])
        #expect(decision.connections == ["n0": 3333, "n1": 3333, "n2": 3334, "n3": 0])
        #expect(decision.formula == "avg(3333,3333,3334)=3333.3 > 0*1.2=0.0 and > 0+200=200.0 (imbalanced)")
        #expect(
            decision.strategy == RebalanceStrategy(connEvictRate: 10, absConnThreshold: 100, relConnThreshold: "1.1")
        )
        #expect(decision.policy == "test")
        let spec = try #require(RebalancePlanner.spec(for: decision, cluster: F.cluster))
        #expect(spec.instanceKind == "EmqxEnterprise")
        #expect(spec.instanceName == "emqx-ee")
    }

    /// Imbalance toggling faster than `for` never fires.
    @Test(arguments: [1, 2, 3])
    func flappingNeverFires(_ period: Int) {
        let policy = F.policy([F.skewRule(forDuration: Double(period) * 10 + 10)])
        let steps = (0..<200).map { ($0 / period) % 2 == 0 ? F.imbalanced : F.balanced }
        let results = F.run(policy, steps)
        #expect(results.allSatisfy { $0.decisions.isEmpty })
        #expect(results.allSatisfy { $0.evaluations[0].state != .firing })
    }

    /// Balanced by either inequality alone does not fire.
    @Test(arguments: [
        // balanced by abs only: avg(d)=1100 <= 1000+200, 1100 > 1000*1.05
        ([1100.0, 1100, 1000, 1000], BalanceThreshold(absolute: 200, relative: 1.05), BlockReason.balanced),
        // balanced by rel only: avg(d)=10000 > 9000+200, 10000 <= 9000*1.2
        ([10000.0, 10000, 9000, 9000], BalanceThreshold(absolute: 200, relative: 1.2), .balanced),
        // imbalanced by both
        ([10000.0, 10000, 5000, 5000], BalanceThreshold(absolute: 200, relative: 1.2), .pending),
    ])
    func balancedByEitherInequality(_ counts: [Double], _ threshold: BalanceThreshold, _ reason: BlockReason) {
        let policy = F.policy([F.skewRule(forDuration: 10, connections: threshold)])
        let results = F.run(policy, Array(repeating: counts.map { Optional($0) }, count: 1))
        #expect(results[0].evaluations[0].whyNot?.reason == reason)
        #expect(results[0].decisions.isEmpty)
    }

    @Test func missingNodeBlocksAndIsNeverZero() {
        let policy = F.policy([F.skewRule(forDuration: 0)])
        let result = F.run(policy, [[3333, 3333, 3334, nil]])[0]
        #expect(result.decisions.isEmpty)
        #expect(result.evaluations[0].whyNot == WhyNot(.missingData, "node n3 has no fresh sample"))
        #expect(result.evaluations[0].state == .inactive)
    }

    @Test func staleSampleBlocks() {
        let policy = F.policy([F.skewRule(forDuration: 0)])
        let at = F.time(0)
        let snapshot = F.snapshot(F.imbalanced, at: at, observedAt: at.addingTimeInterval(-61))
        let result = PolicyEngine.evaluate(policy, snapshot: snapshot, history: .empty, at: at, previous: nil)
        #expect(result.decisions.isEmpty)
        #expect(result.evaluations[0].whyNot?.reason == .staleData)
    }

    @Test func scaleOutDoesNotFireWhileAnotherNodeLacksData() {
        var rule = F.skewRule(forDuration: 20)
        rule.name = "scale-out"
        rule.trigger = .scaleOut
        let policy = F.policy([rule])
        // Step 0: three nodes; from step 1 node n3 joins while n1 has no sample until step 6.
        var steps: [[Double?]] = [[3000, 3000, 3000]]
        steps += Array(repeating: [3000, nil, 3000, 0], count: 5)
        steps += Array(repeating: [3000, 3000, 3000, 0], count: 4)
        let results = F.run(policy, steps)
        #expect(results[0].evaluations[0].whyNot?.reason == .notTriggered)
        for r in results[1...5] {
            #expect(r.decisions.isEmpty)
            #expect(r.evaluations[0].whyNot?.reason == .missingData)
        }
        // Data back at step 6: `for` starts then, so the rule acts at step 8, not at once.
        #expect(results[6].evaluations[0].state == .pending)
        #expect(results[7].decisions.isEmpty)
        #expect(results[8].rebalance?.rule == "scale-out")
    }

    @Test func cooldownSurvivesARestartOfTheAgent() throws {
        let policy = F.policy([F.skewRule(forDuration: 0, cooldown: 600)])
        let first = F.run(policy, [F.imbalanced])[0]
        let decided = try #require(first.rebalance)
        // The cluster now shows our rebalance, finished 60s later; the agent restarts with no state at all.
        let history = ActionHistory(rebalances: [
            PastRebalance(
                name: "emqx-ee-skew-1",
                ours: true,
                rule: "skew",
                trigger: .skew,
                createdAt: decided.time,
                finishedAt: decided.time.addingTimeInterval(60),
                phase: .completed,
                outcome: .improved
            )
        ])
        let restarted = F.run(
            policy,
            Array(repeating: F.imbalanced, count: 3),
            history: history,
            previous: nil,
            startingAt: 120
        )
        for r in restarted {
            #expect(r.decisions.isEmpty)
            #expect(r.evaluations[0].whyNot?.reason == .cooldown)
            #expect(r.evaluations[0].whyNot?.detail.contains("until 2026-11-20T10:11:00Z") == true)
        }
        // After the cooldown it acts again.
        let later = F.run(policy, [F.imbalanced], history: history, previous: restarted.last?.state, startingAt: 660)
        #expect(later[0].rebalance != nil)
    }

    @Test func aManualRebalanceStartsTheCooldownToo() {
        let policy = F.policy([F.skewRule(forDuration: 0, cooldown: 300)])
        let history = ActionHistory(rebalances: [
            PastRebalance(
                name: "by-hand",
                ours: false,
                createdAt: F.time(-100),
                finishedAt: F.time(-50),
                phase: .completed
            )
        ])
        let result = F.run(policy, [F.imbalanced], history: history)[0]
        #expect(result.evaluations[0].whyNot?.reason == .cooldown)
    }

    /// Each fact, and its first-gate reason.
    @Test(arguments: [
        (
            ClusterFacts(
                ready: nil,
                upgrading: false,
                evacuating: false,
                scalingIn: false,
                rebalanceRunning: false,
                enterprise: true
            ), BlockReason.notReady
        ),
        (
            ClusterFacts(
                ready: false,
                upgrading: false,
                evacuating: false,
                scalingIn: false,
                rebalanceRunning: false,
                enterprise: true
            ), .notReady
        ),
        (
            ClusterFacts(
                ready: true,
                upgrading: true,
                evacuating: false,
                scalingIn: false,
                rebalanceRunning: false,
                enterprise: true
            ), .upgrading
        ),
        (
            ClusterFacts(
                ready: true,
                upgrading: false,
                evacuating: false,
                scalingIn: true,
                rebalanceRunning: false,
                enterprise: true
            ), .scalingIn
        ),
        (
            ClusterFacts(
                ready: true,
                upgrading: false,
                evacuating: true,
                scalingIn: false,
                rebalanceRunning: false,
                enterprise: true
            ), .evacuating
        ),
        (
            ClusterFacts(
                ready: true,
                upgrading: false,
                evacuating: false,
                scalingIn: false,
                rebalanceRunning: true,
                enterprise: true
            ), .rebalanceRunning
        ),
        (
            ClusterFacts(
                ready: true,
                upgrading: false,
                evacuating: false,
                scalingIn: false,
                rebalanceRunning: false,
                enterprise: false
            ), .notEnterprise
        ),
        (
            ClusterFacts(
                ready: true,
                upgrading: true,
                evacuating: true,
                scalingIn: true,
                rebalanceRunning: true,
                enterprise: true
            ), .upgrading
        ),
    ])
    func factsGate(_ facts: ClusterFacts, _ reason: BlockReason) {
        let policy = F.policy([F.skewRule(forDuration: 0)])
        let result = F.run(policy, [F.imbalanced], facts: { _ in facts })[0]
        #expect(result.decisions.isEmpty)
        #expect(result.evaluations[0].whyNot?.reason == reason)
        #expect(result.evaluations[0].state == .firing)
    }

    @Test func unknownFactsOtherThanReadyDoNotBlock() {
        let policy = F.policy([F.skewRule(forDuration: 0)])
        let result = F.run(policy, [F.imbalanced], facts: { _ in ClusterFacts(ready: true) })[0]
        #expect(result.rebalance != nil)
    }

    @Test func pausedAndMaintenanceBlock() {
        let paused = F.run(F.policy([F.skewRule(forDuration: 0)], paused: true), [F.imbalanced])[0]
        #expect(paused.evaluations[0].whyNot?.reason == .paused)
        let window = MaintenanceWindow(name: "always", startMinute: 0, endMinute: 1440 - 1)
        let held = F.run(F.policy([F.skewRule(forDuration: 0)], windows: [window]), [F.imbalanced])[0]
        #expect(held.evaluations[0].whyNot?.reason == .maintenanceWindow)
    }

    @Test func oneRebalancePerClusterByPriorityThenOrder() {
        let policy = F.policy([
            F.skewRule(name: "first", forDuration: 0, priority: 0),
            F.skewRule(name: "urgent", forDuration: 0, priority: 5),
            F.skewRule(name: "third", forDuration: 0, priority: 5),
        ])
        let result = F.run(policy, [F.imbalanced])[0]
        #expect(result.decisions.map(\.rule) == ["urgent"])
        #expect(result.evaluations.map { $0.whyNot?.reason } == [.otherRuleActing, nil, .otherRuleActing])
        #expect(result.evaluations.map(\.state) == [.firing, .acted, .firing])
    }

    @Test func dailyLimitCountsOurRebalances() {
        let policy = F.policy([F.skewRule(forDuration: 0, cooldown: 60)])
        let history = ActionHistory(
            rebalances: (1...3).map { i in
                PastRebalance(
                    name: "r\(i)",
                    ours: true,
                    rule: "skew",
                    createdAt: F.time(Double(-i) * 3600),
                    finishedAt: F.time(Double(-i) * 3600 + 60),
                    phase: .completed,
                    outcome: .improved
                )
            }
        )
        let result = F.run(policy, [F.imbalanced], history: history)[0]
        #expect(result.evaluations[0].whyNot?.reason == .dailyLimit)
    }

    @Test func ineffectiveLimitAlertsOnceUntilReset() {
        let policy = F.policy([F.skewRule(forDuration: 0, cooldown: 60)])
        let rebalances = (1...2).map { i in
            PastRebalance(
                name: "r\(i)",
                ours: true,
                rule: "skew",
                createdAt: F.time(Double(-i) * 3600),
                finishedAt: F.time(Double(-i) * 3600 + 60),
                phase: .completed,
                outcome: .ineffective
            )
        }
        let results = F.run(policy, [F.imbalanced, F.imbalanced], history: ActionHistory(rebalances: rebalances))
        #expect(results[0].decisions.map(\.action) == [.alert])
        #expect(results[0].decisions.first?.reason == .ineffectiveLimit)
        #expect(results[1].decisions.isEmpty)
        #expect(results[1].evaluations[0].whyNot?.reason == .ineffectiveLimit)
        let reset = ActionHistory(rebalances: rebalances, ineffectiveResetAt: F.time(-60))
        #expect(F.run(policy, [F.imbalanced], history: reset)[0].rebalance != nil)
    }

    @Test func alertRulesNeverCreateRebalances() {
        let policy = F.policy([F.skewRule(forDuration: 10, action: .alert)])
        let results = F.run(policy, Array(repeating: F.imbalanced, count: 5))
        #expect(results.flatMap(\.decisions).map(\.action) == [.alert])
        #expect(results.allSatisfy { $0.rebalance == nil })
        #expect(results.last?.evaluations[0].state == .firing)
    }

    @Test func reloadKeepsTheStateOfUnchangedRules() {
        let old = F.policy([F.skewRule(name: "same", forDuration: 60), F.skewRule(name: "changed", forDuration: 60)])
        let pending = F.run(old, Array(repeating: F.imbalanced, count: 4))
        var changed = F.skewRule(name: "changed", forDuration: 90)
        changed.priority = 1
        let new = F.policy([F.skewRule(name: "same", forDuration: 60), changed])
        let carried = pending.last!.state.carryingOver(from: old, to: new)
        #expect(carried.rules["same"]?.conditionSince == F.time(0))
        #expect(carried.rules["changed"] == nil)
        let next = F.run(new, [F.imbalanced, F.imbalanced, F.imbalanced], previous: carried, startingAt: 40)
        // "same" held since 0s: acts at 60s; "changed" restarted its `for` at 40s.
        #expect(next[1].decisions.isEmpty)
        #expect(next[2].rebalance?.rule == "same")
        #expect(next[2].evaluations[1].state == .pending)
    }

    @Test func restartDetectedFromUptimeReset() {
        let rule = Rule(
            name: "restart",
            trigger: .restart,
            connections: BalanceThreshold(absolute: 200, relative: 1.2),
            forDuration: 0,
            strategy: StrategyTemplate(connEvictRate: .fixed(10))
        )
        let policy = F.policy([rule])
        func snap(_ at: Date, uptime2: Double) -> ClusterSnapshot {
            ClusterSnapshot(
                cluster: F.cluster,
                takenAt: at,
                expectedNodes: ["a", "b", "c"],
                nodes: [
                    NodeObservation(name: "a", liveConnections: 4000, observedAt: at, uptimeSeconds: 9000),
                    NodeObservation(name: "b", liveConnections: 4000, observedAt: at, uptimeSeconds: 9000),
                    NodeObservation(name: "c", liveConnections: 1000, observedAt: at, uptimeSeconds: uptime2),
                ],
                facts: .assumedFine
            )
        }
        let first = PolicyEngine.evaluate(
            policy,
            snapshot: snap(F.time(0), uptime2: 9000),
            history: .empty,
            at: F.time(0),
            previous: nil
        )
        #expect(first.evaluations[0].whyNot?.reason == .notTriggered)
        let second = PolicyEngine.evaluate(
            policy,
            snapshot: snap(F.time(10), uptime2: 8),
            history: .empty,
            at: F.time(10),
            previous: first.state
        )
        #expect(second.rebalance?.rule == "restart")
    }

    @Test(arguments: [
        (7500.0, 300.0, 10, 1000, 25),
        (75000.0, 300.0, 10, 200, 200),
        (100.0, 300.0, 10, 200, 10),
        (0.0, 300.0, 10, 200, 10),
    ])
    func autoEvictRate(_ excess: Double, _ target: Double, _ minimum: Int, _ maximum: Int, _ rate: Int) {
        #expect(
            RebalancePlanner.autoRate(excess: excess, targetSeconds: target, minimum: minimum, maximum: maximum) == rate
        )
    }

    @Test func plannerUsesTheLargestDonorExcess() {
        var rule = F.skewRule(forDuration: 0)
        rule.strategy.connEvictRate = .auto(targetDuration: 100, minimum: 1, maximum: 1000)
        let evaluation = BalanceMath.evaluateConnections(
            [
                .init(name: "a", liveConnections: 5000), .init(name: "b", liveConnections: 3000),
                .init(name: "c", liveConnections: 1000),
            ],
            threshold: .emqxDefault
        )
        // mean 3000; donors a (5000) and b (3000): largest excess 2000 → 20/s over 100 s.
        #expect(RebalancePlanner.strategy(for: rule, connections: evaluation).connEvictRate == 20)
    }
}
