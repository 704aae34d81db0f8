import AutorebalancerCore
import Foundation

/// A cluster's rebalances as recorded by `EMQXRebalance` objects, in the shape the engine reads for cooldowns, daily
/// limits and the ineffective-outcome limit: the same `PastRebalance`s a `Rebalance` gives, so both ways of acting
/// brake alike, across restarts and leader changes.
public enum EMQXRebalanceHistory {
    /// - Parameter records: the records of the cluster (`spec.cluster`), ours and manual. A manual run still
    ///   `Pending` (or not yet seen) is not a rebalance yet and is left out.
    public static func past(_ records: [EMQXRebalance]) -> [PastRebalance] {
        records.compactMap { record in
            guard let name = record.metadata.name else { return nil }
            let ours = EMQXRebalanceLifecycle.isAutomatic(record)
            let phase: RebalancePhase?
            switch record.status?.phaseValue {
            case .pending?: return nil
            case nil:
                guard ours else { return nil }
                phase = nil
            case .starting?, .running?: phase = .processing
            case .completed?: phase = .completed
            case .failed?: phase = .failed
            }
            let decision = ours ? RebalanceMetadata.decision(of: record) : nil
            guard let createdAt = KubernetesTime.parse(record.metadata.creationTimestamp) ?? decision?.time else {
                return nil
            }
            let labels = record.metadata.labels ?? [:]
            return PastRebalance(
                name: name,
                ours: ours,
                rule: ours ? (decision?.rule ?? labels[RebalanceMetadata.ruleKey]) : nil,
                trigger: ours
                    ? (decision?.trigger ?? labels[RebalanceMetadata.triggerKey].flatMap(Trigger.init(rawValue:)))
                    : nil,
                createdAt: createdAt,
                finishedAt: phase?.isFinal == true ? KubernetesTime.parse(record.status?.completedTime) : nil,
                phase: phase,
                outcome: RebalanceMetadata.outcome(of: record)
            )
        }
    }
}
