import Foundation
import Testing

@testable import AutorebalancerCore

private typealias F = EngineFixture

/// The gates of the operator generations: the agent stands back while the operator removes nodes, is paused, or
/// starts new ones, follows an HPA scale-out once its nodes are Ready, and says why where it cannot act at all.
struct StandBackGateTests {
    static var fine: ClusterFacts { .assumedFine }

    static func facts(_ change: (inout ClusterFacts) -> Void) -> ClusterFacts {
        var facts = ClusterFacts.assumedFine
        change(&facts)
        return facts
    }

    /// Each fact and the reason it gives; earlier gates win over the older ones (not-ready, scaling-in, evacuating).
    @Test(arguments: [
        (
            StandBackGateTests.facts { $0.cannotAct = "EMQX Operator 3.0 has no Rebalance resource; …" },
            BlockReason?.some(.cannotAct), "EMQX Operator 3.0 has no Rebalance resource"
        ),
        (
            StandBackGateTests.facts {
                $0.operatorPaused = true
                $0.ready = false
            }, .operatorPaused, "condition Paused is True"
        ),
        (
            StandBackGateTests.facts {
                $0.podsBeingRemoved = ["emqx-replicant-x"]
                $0.evacuating = true
                $0.scalingIn = true
            }, .scalingDown, "emqx-replicant-x (apps.emqx.io/scaling-down)"
        ),
        (
            StandBackGateTests.facts { $0.podsUnreadable = "forbidden" }, .scalingDown,
            "the pods could not be read: forbidden"
        ),
        (
            StandBackGateTests.facts {
                $0.nodesPending = NodesPending(wanted: 6, running: 4, role: .replicant)
                $0.ready = false
            }, .waitingForNodes,
            "waiting for 2 new nodes to be Ready (6 replicants wanted, 4 running)"
        ),
        (
            StandBackGateTests.facts {
                $0.nodesPending = NodesPending(wanted: 4, running: 4, role: .core)
                $0.podsBeingRemoved = []
            }, nil, ""
        ),
    ])
    func eachGateHasItsReason(_ facts: ClusterFacts, _ reason: BlockReason?, _ detail: String) {
        let result = F.run(F.policy([F.skewRule(forDuration: 0)]), [F.imbalanced], facts: { _ in facts })[0]
        #expect(result.evaluations[0].whyNot?.reason == reason)
        if let reason {
            #expect(result.rebalance == nil)
            #expect(
                result.evaluations[0].whyNot?.detail.contains(detail) == true,
                "\(result.evaluations[0].whyNot?.detail ?? "")"
            )
            #expect(reason.suspends == (reason == .cannotAct))
        } else {
            #expect(result.rebalance != nil)
        }
    }

    /// Alert-only: the rule alerts once with the reason, and never rebalances.
    @Test func cannotActAlertsOnceAndNeverRebalances() {
        let facts = Self.facts { $0.cannotAct = "EMQX Operator 2.1 serves Rebalance only as apps.emqx.io/v1beta4" }
        let results = F.run(
            F.policy([F.skewRule(forDuration: 0)]),
            Array(repeating: F.imbalanced, count: 4),
            facts: { _ in facts }
        )
        #expect(results.flatMap(\.decisions).map(\.action) == [.alert])
        #expect(results[0].decisions.first?.reason == .cannotAct)
        #expect(results.allSatisfy { $0.rebalance == nil })
        #expect(results.last?.evaluations[0].state == .suspended)
    }

    /// An HPA scales replicants 3 → 5: while the new nodes start, the scale-out rule waits for them (its why-not says
    /// how many); once both are Ready and reporting, the join triggers it and it acts after `for`.
    @Test func scaleOutRuleFollowsAnHPAOnceTheNewNodesAreReady() {
        var rule = F.skewRule(forDuration: 20)
        rule.name = "scale-out"
        rule.trigger = .scaleOut
        let policy = F.policy([rule])
        let wanting5 = { (running: Int) in
            Self.facts { $0.nodesPending = NodesPending(wanted: 5, running: running, role: .replicant) }
        }
        let steps: [([Double?], ClusterFacts)] = [
            ([3000, 3000, 3000], Self.fine),  // before the HPA acts
            ([3000, 3000, 3000], wanting5(3)),  // the HPA set 5: two pods starting
            ([3000, 3000, 3000, 0], wanting5(4)),  // one is Ready
            ([3000, 3000, 3000, 0, 0], wanting5(5)),  // both: the joins trigger the rule, `for` starts
            ([3000, 3000, 3000, 0, 0], wanting5(5)),
            ([3000, 3000, 3000, 0, 0], wanting5(5)),
        ]
        var state: ClusterEngineState?
        var results: [EngineResult] = []
        for (index, step) in steps.enumerated() {
            let at = F.time(Double(index) * policy.evaluationInterval)
            let snapshot = F.snapshot(step.0, at: at, facts: step.1)
            let result = PolicyEngine.evaluate(policy, snapshot: snapshot, history: .empty, at: at, previous: state)
                .confirmedAtOnce()
            state = result.state
            results.append(result)
        }
        #expect(results[0].evaluations[0].whyNot?.reason == .notTriggered)
        #expect(
            results[1].evaluations[0].whyNot?.detail
                == "waiting for 2 new nodes to be Ready (5 replicants wanted, 3 running)"
        )
        #expect(
            results[2].evaluations[0].whyNot?.detail
                == "waiting for 1 new node to be Ready (5 replicants wanted, 4 running)"
        )
        #expect(results[3].evaluations[0].state == .pending)
        #expect(results[4].rebalance == nil)
        #expect(results[5].rebalance?.rule == "scale-out")
        #expect(results[5].rebalance.map { Set($0.recipients) } == ["n3", "n4"])
    }
}
