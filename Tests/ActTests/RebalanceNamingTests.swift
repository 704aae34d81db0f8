import AutorebalancerCore
import Foundation
import Kubernetes
import Testing

@testable import Act

struct RebalanceNamingTests {
    @Test func seedExample() {
        #expect(
            RebalanceNaming.name(cluster: "emqx-ee", trigger: .scaleOut, at: Fixtures.decisionTime)
                == "emqx-ee-scaleout-20261120t102200"
        )
        #expect(
            RebalanceNaming.name(cluster: "emqx-ee", trigger: .restart, at: Fixtures.decisionTime, attempt: 2)
                == "emqx-ee-restart-20261120t102200-r2"
        )
    }

    @Test(arguments: [
        String(repeating: "very-long-cluster-name-", count: 4),
        "Cluster_With.Odd*Chars" + String(repeating: "x", count: 60),
    ])
    func longOrOddNamesStayValidAndDistinct(cluster: String) {
        let a = RebalanceNaming.name(cluster: cluster, trigger: .skew, at: Fixtures.decisionTime)
        let b = RebalanceNaming.name(cluster: cluster, trigger: .skew, at: Fixtures.decisionTime.addingTimeInterval(1))
        for name in [a, b] {
            #expect(name.count <= 63)
            #expect(name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" })
            #expect(name.first != "-" && name.last != "-")
        }
        #expect(a != b)  // the hash covers the full name, time included
        // Deterministic.
        #expect(a == RebalanceNaming.name(cluster: cluster, trigger: .skew, at: Fixtures.decisionTime))
    }

    @Test func factoryBuildsLabelsAnnotationsOwnerAndSpec() throws {
        let rebalance = try RebalanceFactory.make(Fixtures.decision(), for: Fixtures.object())
        #expect(rebalance.apiVersion == "apps.emqx.io/v2beta1")
        #expect(rebalance.metadata.namespace == "default")
        #expect(
            rebalance.metadata.labels == [
                "app.kubernetes.io/managed-by": "emqx-autorebalancer",
                "autorebalancer.emqx.io/cluster": "emqx-ee",
                "autorebalancer.emqx.io/rule": "scale-out",
                "autorebalancer.emqx.io/trigger": "scaleOut",
            ]
        )
        #expect(rebalance.metadata.ownerReferences?.first?.uid == "uid-1")
        #expect(rebalance.metadata.ownerReferences?.first?.kind == "EMQX")
        #expect(rebalance.spec.instanceKind == "EMQX")
        #expect(rebalance.spec.instanceName == "emqx-ee")
        #expect(rebalance.spec.rebalanceStrategy.connEvictRate == 10)
        let decision = try #require(RebalanceMetadata.decision(of: rebalance))
        #expect(decision == Fixtures.decision())
        #expect(rebalance.metadata.annotations?[RebalanceMetadata.decisionKey]?.contains("(imbalanced)") == true)
        #expect(rebalance.metadata.annotations?[RebalanceMetadata.decisionKey]?.contains("default@1") == true)
    }

    @Test func decisionWithoutStrategyIsRejected() {
        var decision = Fixtures.decision()
        decision.strategy = nil
        #expect(throws: RebalanceFactory.InvalidDecision.self) {
            try RebalanceFactory.make(decision, for: Fixtures.object())
        }
    }
}

struct OutcomeJudgeTests {
    static let strategy = Fixtures.decision().strategy

    static func judge(_ before: [Double], _ after: [Double]) -> RebalanceOutcome? {
        OutcomeJudge.judge(
            before: OutcomeJudge.evaluations(Fixtures.counts(before), strategy: strategy),
            after: OutcomeJudge.evaluations(Fixtures.counts(after), strategy: strategy)
        )?.outcome
    }

    @Test(arguments: [
        ([3333, 3333, 3334, 0], [2553, 2553, 2554, 2340], RebalanceOutcome.balanced),  // the seed article's end state
        ([3333, 3333, 3334, 0], [2900, 2900, 2900, 1300], .improved),  // gap 3333 → 1600: more than half gone
        ([3333, 3333, 3334, 0], [3300, 3300, 3300, 100], .ineffective),
        ([3333, 3333, 3334, 0], [3333, 3333, 3334, 0], .ineffective),
    ])
    func outcomes(before: [Double], after: [Double], expected: RebalanceOutcome) {
        #expect(Self.judge(before, after) == expected)
    }

    @Test func unknownAfterIsNoJudgement() {
        #expect(OutcomeJudge.judge(before: [], after: []) == nil)
    }

    @Test func detailCarriesBothFormulas() {
        let judgement = OutcomeJudge.judge(
            before: OutcomeJudge.evaluations(Fixtures.counts([3333, 3333, 3334, 0]), strategy: Self.strategy),
            after: OutcomeJudge.evaluations(Fixtures.counts([2553, 2553, 2554, 2340]), strategy: Self.strategy)
        )
        #expect(judgement?.detail.contains("connections: before avg(3333,3333,3334)=3333.3") == true)
        #expect(judgement?.detail.contains("after avg(2553,2553,2554)=2553.3 <= 2340*1.1=2574.0") == true)
    }
}

struct RebalanceFailureTests {
    @Test(arguments: [
        ("EMQX emqx-ee is not ready", InstanceKind.emqx, RebalanceFailure.notReady),
        ("EMQX emqx-ee is not ready", .emqxEnterprise, .other),
        (
            "Failed to start rebalance: {\"code\":\"BAD_REQUEST\",\"message\":\"nothing_to_balance\"}", .emqx,
            .nothingToBalance
        ),
        ("EMQX emqx-ee is not found", .emqx, .other),
        ("already_started", .emqx, .other),
    ])
    func classification(message: String, kind: InstanceKind, expected: RebalanceFailure) {
        #expect(RebalanceFailure.classify(message: message, kind: kind) == expected)
    }
}
