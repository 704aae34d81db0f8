import AutorebalancerCore
import Foundation
import Kubernetes

/// Builds the `Rebalance` for a decision: deterministic name, labels, the decision record annotation, and an
/// ownerReference to the EMQX object (so deleting the cluster deletes its Rebalances).
public enum RebalanceFactory {
    /// Thrown when a decision cannot become a Rebalance.
    public struct InvalidDecision: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// - Parameters:
    ///   - decision: a `rebalance` decision with a strategy.
    ///   - object: the EMQX object (namespace, name, kind, uid).
    ///   - attempt: 1 for the decision itself, n > 1 for its retries.
    ///   - origin: the name of the first attempt, for retries.
    public static func make(
        _ decision: DecisionRecord,
        for object: ClusterObject,
        attempt: Int = 1,
        origin: String? = nil
    ) throws -> Rebalance {
        guard let strategy = decision.strategy else {
            throw InvalidDecision(
                description: "decision of rule \(decision.rule) for \(decision.cluster) has no Rebalance strategy"
            )
        }
        guard strategy.connEvictRate >= 1 else {
            throw InvalidDecision(
                description: "rule \(decision.rule): connEvictRate must be at least 1 (got \(strategy.connEvictRate))"
            )
        }
        guard let clusterName = object.metadata.name else {
            throw InvalidDecision(description: "the EMQX object has no name")
        }
        let name = RebalanceNaming.name(
            cluster: clusterName,
            trigger: decision.trigger,
            at: decision.time,
            attempt: attempt
        )
        var annotations = [
            RebalanceMetadata.decisionKey: decision.jsonLine(),
            RebalanceMetadata.attemptKey: String(attempt),
        ]
        if attempt > 1 {
            annotations[RebalanceMetadata.originKey] =
                origin ?? RebalanceNaming.name(cluster: clusterName, trigger: decision.trigger, at: decision.time)
        }
        var metadata = ObjectMeta(
            name: name,
            namespace: object.metadata.namespace,
            labels: RebalanceMetadata.labels(cluster: clusterName, rule: decision.rule, trigger: decision.trigger),
            annotations: annotations
        )
        if let owner = object.ownerReference { metadata.ownerReferences = [owner] }
        return Rebalance(
            metadata: metadata,
            spec: RebalanceSpec(instanceKind: object.kind, instanceName: clusterName, rebalanceStrategy: strategy)
        )
    }
}

extension RebalanceFactory {
    /// The Rebalance `decision` becomes on the observed cluster, with how reports name it; `nil` when it cannot
    /// become one (`ActionReport.unbuildable` says why).
    static func make(_ decision: DecisionRecord, on cluster: ObservedCluster) -> (Rebalance, ActedObject)? {
        guard let object = cluster.object, let rebalance = try? make(decision, for: object) else { return nil }
        return (rebalance, ActedObject(rebalance))
    }
}
