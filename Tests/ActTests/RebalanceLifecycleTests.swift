import AutorebalancerCore
import Foundation
import Kubernetes
import Testing

@testable import Act

struct RebalanceLifecycleTests {
    static let lifecycle = RebalanceLifecycle(
        configuration: .init(
            settleTime: .seconds(60),
            stuckAfter: .seconds(1800),
            retryBackoff: .seconds(120),
            retryBackoffMax: .seconds(600),
            maxAttempts: 3,
            keepFinished: 2
        )
    )
    static let t = Fixtures.decisionTime
    static let name = "emqx-ee-scaleout-20261120t102200"
    static let balancedCounts = Fixtures.counts([2553, 2553, 2554, 2340])

    static func inputs(
        at seconds: Double,
        ready: Bool? = true,
        counts: [BalanceMath.NodeCounts]? = balancedCounts,
        probe: RebalanceLifecycle.ProbeAnswer = .notAsked
    ) -> RebalanceLifecycle.Inputs {
        .init(now: t.addingTimeInterval(seconds), clusterReady: ready, counts: counts, probe: probe)
    }

    // MARK: Gate

    @Test func anyProcessingRebalanceBlocks() {
        let blocker = RebalanceLifecycle.blocker(
            [Fixtures.foreign("manual", phase: .processing)],
            for: Fixtures.cluster
        )
        #expect(blocker?.name == "manual" && blocker?.ours == false)
        #expect(
            RebalanceLifecycle.blocker(
                [Fixtures.foreign("manual", phase: .processing, instance: "elsewhere")],
                for: Fixtures.cluster
            ) == nil
        )
    }

    @Test func oursNotPickedUpBlocksButOthersFinishedDoNot() {
        #expect(
            RebalanceLifecycle.blocker([Fixtures.ours(phase: nil)], for: Fixtures.cluster)?.reason.contains(
                "not yet picked up"
            ) == true
        )
        #expect(
            RebalanceLifecycle.blocker(
                [
                    Fixtures.foreign("old", phase: .failed),
                    Fixtures.ours(phase: .completed, finished: Self.t, outcome: .balanced),
                ],
                for: Fixtures.cluster
            ) == nil
        )
    }

    @Test func unconfirmedNotReadyFailureBlocks() {
        let failed = Fixtures.ours(
            phase: .failed,
            message: "EMQX emqx-ee is not ready",
            finished: Self.t.addingTimeInterval(40)
        )
        #expect(
            RebalanceLifecycle.blocker([failed], for: Fixtures.cluster)?.reason.contains(
                "EMQX may still be rebalancing"
            ) == true
        )
        let judged = Fixtures.ours(
            phase: .failed,
            message: "EMQX emqx-ee is not ready",
            finished: Self.t,
            outcome: .balanced
        )
        #expect(RebalanceLifecycle.blocker([judged], for: Fixtures.cluster) == nil)
    }

    // MARK: Follow

    @Test func processingThenStuck() {
        let processing = [Fixtures.ours(phase: .processing)]
        #expect(
            Self.lifecycle.plan(processing, for: Fixtures.cluster, inputs: Self.inputs(at: 600)) == [
                .processing(Self.name, since: Self.t)
            ]
        )
        #expect(
            Self.lifecycle.plan(processing, for: Fixtures.cluster, inputs: Self.inputs(at: 1801)) == [
                .stuck(Self.name, since: Self.t)
            ]
        )
        #expect(
            Self.lifecycle.plan([Fixtures.ours(phase: nil)], for: Fixtures.cluster, inputs: Self.inputs(at: 5)) == [
                .awaitOperator(Self.name)
            ]
        )
    }

    @Test func completedSettlesThenIsJudgedFromMetrics() {
        let completed = [Fixtures.ours(phase: .completed, finished: Self.t.addingTimeInterval(100))]
        #expect(
            Self.lifecycle.plan(completed, for: Fixtures.cluster, inputs: Self.inputs(at: 130)) == [
                .settling(Self.name, until: Self.t.addingTimeInterval(160))
            ]
        )
        #expect(
            Self.lifecycle.plan(completed, for: Fixtures.cluster, inputs: Self.inputs(at: 170, counts: nil)) == [
                .awaitMetrics(Self.name)
            ]
        )
        guard
            case .record(_, let outcome, let detail, false)? = Self.lifecycle.plan(
                completed,
                for: Fixtures.cluster,
                inputs: Self.inputs(at: 170)
            ).first
        else {
            Issue.record("expected a record action")
            return
        }
        #expect(outcome == .balanced)
        #expect(detail.contains("balanced by rel"))
        let ineffective = Self.lifecycle.plan(
            completed,
            for: Fixtures.cluster,
            inputs: Self.inputs(at: 170, counts: Fixtures.counts([3333, 3333, 3334, 0]))
        )
        #expect(ineffective.first.map { if case .record(_, .ineffective, _, _) = $0 { true } else { false } } == true)
    }

    @Test func nothingToBalanceIsRecordedNeverRetried() {
        let failed = [
            Fixtures.ours(phase: .failed, message: "Failed to start rebalance: nothing_to_balance", finished: Self.t)
        ]
        let actions = Self.lifecycle.plan(failed, for: Fixtures.cluster, inputs: Self.inputs(at: 10_000))
        #expect(
            actions == [
                .record(
                    Self.name,
                    outcome: .nothingToBalance,
                    detail: "Failed to start rebalance: nothing_to_balance",
                    retriesExhausted: false
                )
            ]
        )
        var recorded = failed
        recorded[0].metadata.annotations?[RebalanceMetadata.outcomeKey] = "nothing-to-balance"
        #expect(Self.lifecycle.plan(recorded, for: Fixtures.cluster, inputs: Self.inputs(at: 10_000)).isEmpty)
    }

    @Test func falseNotReadyIsConfirmedWithEMQX() {
        let failed = [
            Fixtures.ours(phase: .failed, message: "EMQX emqx-ee is not ready", finished: Self.t.addingTimeInterval(40))
        ]
        let plan = { (probe: RebalanceLifecycle.ProbeAnswer, ready: Bool?) in
            Self.lifecycle.plan(failed, for: Fixtures.cluster, inputs: Self.inputs(at: 200, ready: ready, probe: probe))
        }
        #expect(plan(.notAsked, false) == [.confirmWithEMQX(Self.name)])
        #expect(plan(.running, false) == [.emqxStillRebalancing(Self.name)])
        #expect(plan(.unreachable("timeout"), false) == [.awaitReady(Self.name)])
        // Seen stopped at 200 s (by EMQX's answer, or by Ready when EMQX cannot be asked): that instant is written.
        #expect(plan(.unreachable("timeout"), true) == [.markStopped(Self.name, at: Self.t.addingTimeInterval(200))])
        #expect(plan(.idle, nil) == [.markStopped(Self.name, at: Self.t.addingTimeInterval(200))])
    }

    /// The settle time counts from when EMQX was seen stopped, not from the `Failed` time (40 s) nor the creation.
    @Test func theSettleTimeStartsWhenEMQXIsSeenStopped() {
        var failed = Fixtures.ours(
            phase: .failed,
            message: "EMQX emqx-ee is not ready",
            finished: Self.t.addingTimeInterval(40)
        )
        failed.metadata.annotations?[RebalanceMetadata.stoppedAtKey] = KubernetesTime.format(
            Self.t.addingTimeInterval(200)
        )
        let settling = Self.lifecycle.plan(
            [failed],
            for: Fixtures.cluster,
            inputs: Self.inputs(at: 230, ready: true, probe: .notAsked)
        )
        #expect(
            settling == [.settling(Self.name, until: Self.t.addingTimeInterval(260))],
            "no second question to EMQX once seen stopped"
        )
        let judged = Self.lifecycle.plan(
            [failed],
            for: Fixtures.cluster,
            inputs: Self.inputs(at: 260, ready: true, probe: .notAsked)
        )
        #expect(judged.first.map { if case .record(_, .balanced, _, _) = $0 { true } else { false } } == true)
        // Still blocking new Rebalances until judged.
        #expect(RebalanceLifecycle.blocker([failed], for: Fixtures.cluster) != nil)
        // A Completed Rebalance that says no time: the agent's record of the instant, written first.
        var completed = Fixtures.ours(phase: .completed)
        completed.status?.completedTime = nil
        completed.status?.conditions = []
        #expect(
            Self.lifecycle.plan([completed], for: Fixtures.cluster, inputs: Self.inputs(at: 90)) == [
                .markStopped(Self.name, at: Self.t.addingTimeInterval(90))
            ]
        )
        completed.metadata.annotations?[RebalanceMetadata.stoppedAtKey] = KubernetesTime.format(
            Self.t.addingTimeInterval(90)
        )
        #expect(
            Self.lifecycle.plan([completed], for: Fixtures.cluster, inputs: Self.inputs(at: 100)) == [
                .settling(Self.name, until: Self.t.addingTimeInterval(150))
            ]
        )
    }

    @Test func ordinaryFailureIsRetriedWithGrowingBackoffThenExhausted() {
        let failedAt = Self.t.addingTimeInterval(30)
        let first = Fixtures.ours(phase: .failed, message: "EMQX emqx-ee is not found", finished: failedAt)
        #expect(
            Self.lifecycle.plan([first], for: Fixtures.cluster, inputs: Self.inputs(at: 31)) == [
                .record(Self.name, outcome: .failed, detail: "EMQX emqx-ee is not found", retriesExhausted: false)
            ]
        )
        let recorded = Fixtures.ours(
            phase: .failed,
            message: "EMQX emqx-ee is not found",
            finished: failedAt,
            outcome: .failed
        )
        #expect(
            Self.lifecycle.plan([recorded], for: Fixtures.cluster, inputs: Self.inputs(at: 100)) == [
                .retryLater(failed: Self.name, notBefore: failedAt.addingTimeInterval(120))
            ]
        )
        #expect(
            Self.lifecycle.plan([recorded], for: Fixtures.cluster, inputs: Self.inputs(at: 150)) == [
                .retry(failed: Self.name, attempt: 2)
            ]
        )
        // Something else is Processing: the retry waits.
        #expect(
            Self.lifecycle.plan(
                [recorded, Fixtures.foreign("manual", phase: .processing)],
                for: Fixtures.cluster,
                inputs: Self.inputs(at: 150)
            )
                == [.retryLater(failed: Self.name, notBefore: failedAt.addingTimeInterval(120))]
        )

        let secondFailedAt = Self.t.addingTimeInterval(400)
        let second = Fixtures.ours(
            attempt: 2,
            created: Self.t.addingTimeInterval(160),
            phase: .failed,
            message: "boom",
            finished: secondFailedAt,
            outcome: .failed
        )
        #expect(
            Self.lifecycle.plan([recorded, second], for: Fixtures.cluster, inputs: Self.inputs(at: 500))
                == [
                    .retryLater(
                        failed: "emqx-ee-scaleout-20261120t102200-r2",
                        notBefore: secondFailedAt.addingTimeInterval(240)
                    )
                ]
        )
        let third = Fixtures.ours(
            attempt: 3,
            created: Self.t.addingTimeInterval(700),
            phase: .failed,
            message: "boom",
            finished: Self.t.addingTimeInterval(710)
        )
        #expect(
            Self.lifecycle.plan([recorded, second, third], for: Fixtures.cluster, inputs: Self.inputs(at: 720)) == [
                .record("emqx-ee-scaleout-20261120t102200-r3", outcome: .failed, detail: "boom", retriesExhausted: true)
            ]
        )
    }

    @Test func oldFinishedOnesAreDeletedKeepingTheNewest() {
        let rebalances =
            (0..<4).map { i in
                Fixtures.ours(
                    Fixtures.decision(at: Self.t.addingTimeInterval(Double(i) * 3600)),
                    created: Self.t.addingTimeInterval(Double(i) * 3600),
                    phase: .completed,
                    finished: Self.t.addingTimeInterval(Double(i) * 3600 + 60),
                    outcome: .balanced
                )
            } + [
                Fixtures.ours(
                    Fixtures.decision(at: Self.t.addingTimeInterval(5 * 3600)),
                    created: Self.t.addingTimeInterval(5 * 3600),
                    phase: .processing
                )
            ]
        let actions = Self.lifecycle.plan(rebalances, for: Fixtures.cluster, inputs: Self.inputs(at: 5 * 3600 + 10))
        #expect(actions.contains(.delete("emqx-ee-scaleout-20261120t102200")))
        #expect(actions.contains(.delete("emqx-ee-scaleout-20261120t112200")))
        #expect(!actions.contains(.delete("emqx-ee-scaleout-20261120t122200")))
        #expect(actions.filter { if case .delete = $0 { true } else { false } }.count == 2)
    }
}
