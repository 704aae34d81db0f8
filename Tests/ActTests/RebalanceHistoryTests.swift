import AutorebalancerCore
import Foundation
import Kubernetes
import Testing

@testable import Act

struct RebalanceHistoryTests {
    @Test func oursAndOthersAreRebuiltWithPhasesAndOutcomes() {
        let t = Fixtures.decisionTime
        let finished = t.addingTimeInterval(300)
        let rebalances = [
            Fixtures.ours(phase: .completed, finished: finished, outcome: .balanced),
            Fixtures.foreign("manual-1", phase: .processing, created: t.addingTimeInterval(600)),
            Fixtures.foreign("other-cluster", phase: .completed, instance: "emqx-other"),
        ]
        let history = RebalanceHistory.build(from: rebalances, for: Fixtures.cluster)
        #expect(history.rebalances.map(\.name) == ["emqx-ee-scaleout-20261120t102200", "manual-1"])
        let ours = history.rebalances[0]
        #expect(ours.ours && ours.rule == "scale-out" && ours.trigger == .scaleOut)
        #expect(ours.createdAt == t && ours.finishedAt == finished)
        #expect(ours.phase == .completed && ours.outcome == .balanced)
        let manual = history.rebalances[1]
        #expect(!manual.ours && manual.rule == nil && manual.isActive)
    }

    @Test func failedFinishTimeComesFromTheCondition() {
        let failedAt = Fixtures.decisionTime.addingTimeInterval(40)
        let history = RebalanceHistory.build(
            from: [Fixtures.ours(phase: .failed, message: "EMQX emqx-ee is not ready", finished: failedAt)],
            for: Fixtures.cluster
        )
        #expect(history.rebalances.first?.finishedAt == failedAt)
        #expect(history.rebalances.first?.outcome == nil)
    }
}
