import AutorebalancerCore
import Foundation
import Kubernetes

@testable import Act

enum Fixtures {
    static let cluster = ClusterReference(namespace: "default", name: "emqx-ee", kind: .emqx)
    static let decisionTime = KubernetesTime.parse("2026-11-20T10:22:00Z")!

    static func decision(
        trigger: Trigger = .scaleOut,
        at time: Date = decisionTime,
        rule: String = "scale-out"
    ) -> DecisionRecord {
        DecisionRecord(
            time: time,
            cluster: "default/emqx-ee",
            rule: rule,
            trigger: trigger,
            action: .rebalance,
            donors: ["n0", "n1", "n2"],
            recipients: ["n3"],
            connections: ["n0": 3333, "n1": 3333, "n2": 3334, "n3": 0],
            sessions: ["n0": 3333, "n1": 3333, "n2": 3334, "n3": 0],
            formula: "avg(3333,3333,3334)=3333.3 > 0*1.1=0.0 and > 0+100=100.0 (imbalanced)",
            strategy: RebalanceStrategy(
                connEvictRate: 10,
                absConnThreshold: 100,
                absSessThreshold: 100,
                relConnThreshold: "1.1",
                relSessThreshold: "1.1"
            ),
            policy: "default@1"
        )
    }

    static func object(uid: String = "uid-1") -> ClusterObject {
        var metadata = ObjectMeta(name: "emqx-ee", namespace: "default")
        metadata.uid = uid
        return .emqx(
            EMQXResource(
                metadata: metadata,
                status: .init(conditions: [StatusCondition(type: "Ready", status: "True")])
            )
        )
    }

    /// One of ours, as the API would return it.
    static func ours(
        _ decision: DecisionRecord = decision(),
        attempt: Int = 1,
        created: Date = decisionTime,
        phase: RebalancePhase? = nil,
        message: String? = nil,
        finished: Date? = nil,
        outcome: RebalanceOutcome? = nil
    ) -> Rebalance {
        var rebalance = try! RebalanceFactory.make(decision, for: object(), attempt: attempt)
        rebalance.metadata.creationTimestamp = KubernetesTime.format(created)
        if let outcome { rebalance.metadata.annotations?[RebalanceMetadata.outcomeKey] = outcome.rawValue }
        rebalance.status = status(phase, message: message, finished: finished)
        return rebalance
    }

    static func foreign(
        _ name: String,
        phase: RebalancePhase?,
        created: Date = decisionTime,
        instance: String = "emqx-ee"
    ) -> Rebalance {
        var metadata = ObjectMeta(name: name, namespace: "default")
        metadata.creationTimestamp = KubernetesTime.format(created)
        return Rebalance(
            metadata: metadata,
            spec: RebalanceSpec(
                instanceKind: .emqx,
                instanceName: instance,
                rebalanceStrategy: .init(connEvictRate: 5)
            ),
            status: status(phase, message: nil, finished: nil)
        )
    }

    static func status(_ phase: RebalancePhase?, message: String?, finished: Date?) -> RebalanceStatus? {
        guard let phase else { return nil }
        var conditions: [StatusCondition] = []
        if phase == .failed {
            conditions.append(
                StatusCondition(
                    type: "Failed",
                    status: "True",
                    message: message,
                    lastTransitionTime: finished.map(KubernetesTime.format)
                )
            )
        }
        return RebalanceStatus(
            phase: phase,
            conditions: conditions,
            startedTime: KubernetesTime.format(decisionTime),
            completedTime: phase == .completed ? finished.map(KubernetesTime.format) : nil
        )
    }

    static func counts(_ values: [Double]) -> [BalanceMath.NodeCounts] {
        values.enumerated().map {
            BalanceMath.NodeCounts(name: "n\($0.offset)", liveConnections: $0.element, sessions: $0.element)
        }
    }
}
