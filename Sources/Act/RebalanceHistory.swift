import AutorebalancerCore
import Foundation

/// Rebuilds a cluster's `ActionHistory` from the Rebalances the API lists: ours (by label) and anyone else's (by
/// `spec.instanceName`), so a restarted or newly elected agent keeps cooldowns and limits.
public enum RebalanceHistory {
    /// - Parameters:
    ///   - rebalances: every Rebalance of the cluster's namespace (others are ignored).
    ///   - ineffectiveResetAt: the reset annotation of the EMQX object, if any.
    public static func build(
        from rebalances: [Rebalance],
        for cluster: ClusterReference,
        ineffectiveResetAt: Date? = nil
    ) -> ActionHistory {
        let past = rebalances.compactMap { rebalance -> PastRebalance? in
            let ours = RebalanceMetadata.isOurs(rebalance, cluster: cluster)
            guard ours || RebalanceMetadata.targets(rebalance, cluster: cluster) else { return nil }
            let decision = ours ? RebalanceMetadata.decision(of: rebalance) : nil
            guard let name = rebalance.metadata.name,
                let createdAt = KubernetesTime.parse(rebalance.metadata.creationTimestamp) ?? decision?.time
            else { return nil }
            let labels = rebalance.metadata.labels ?? [:]
            return PastRebalance(
                name: name,
                ours: ours,
                rule: ours ? (decision?.rule ?? labels[RebalanceMetadata.ruleKey]) : nil,
                trigger: ours
                    ? (decision?.trigger ?? labels[RebalanceMetadata.triggerKey].flatMap(Trigger.init(rawValue:)))
                    : nil,
                createdAt: createdAt,
                finishedAt: finishedAt(rebalance),
                phase: rebalance.status?.phaseValue,
                outcome: RebalanceMetadata.outcome(of: rebalance)
            )
        }
        return ActionHistory(rebalances: past, ineffectiveResetAt: ineffectiveResetAt)
    }

    /// `status.completedTime`, else the `Failed`/`Completed` condition's transition time, for final phases.
    public static func finishedAt(_ rebalance: Rebalance) -> Date? {
        guard let phase = rebalance.status?.phaseValue, phase.isFinal else { return nil }
        if let completed = KubernetesTime.parse(rebalance.status?.completedTime) { return completed }
        let condition = rebalance.status?.conditions?.condition(phase.rawValue)
        return KubernetesTime.parse(condition?.lastTransitionTime) ?? KubernetesTime.parse(condition?.lastUpdateTime)
    }
}
