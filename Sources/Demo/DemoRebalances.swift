import Act
import AutorebalancerCore
import Foundation
import Simulation

/// The rebalances the agent made in the demo world, whichever way it acted: its `Rebalance`s, or its `EMQXRebalance`
/// records where it acted through EMQX's API (Operator 3.0), read alike for the display and the summary.
struct DemoRebalance: Sendable {
    var kind: String
    var name: String
    /// As the object writes it (`Processing`, `Running`, …).
    var phase: String?
    /// The phase in the `Rebalance`'s terms, for the display.
    var progress: RebalancePhase?
    var createdAt: Date?
    var completedAt: Date?
    var outcome: String?
    var spec: RebalanceSpec

    /// Ours for `reference`, oldest first.
    static func ours(in api: SimulatedKubernetesAPI, for reference: ClusterReference) -> [DemoRebalance] {
        let rebalances = api.rebalances(namespace: reference.namespace).filter {
            RebalanceMetadata.isOurs($0, cluster: reference)
        }.map { rebalance in
            DemoRebalance(
                kind: "Rebalance",
                name: rebalance.metadata.name ?? "",
                phase: rebalance.status?.phase,
                progress: rebalance.status?.phaseValue,
                createdAt: KubernetesTime.parse(rebalance.metadata.creationTimestamp),
                completedAt: KubernetesTime.parse(rebalance.status?.completedTime),
                outcome: rebalance.metadata.annotations?[RebalanceMetadata.outcomeKey],
                spec: rebalance.spec
            )
        }
        let records = api.objects(.emqxRebalances, namespace: reference.namespace).compactMap {
            try? $0.decode(EMQXRebalance.self)
        }
        .filter { EMQXRebalanceLifecycle.isAutomatic($0) && $0.spec.cluster == reference.name }
        .map { record in
            let progress: RebalancePhase?
            switch record.status?.phaseValue {
            case .starting?, .running?: progress = .processing
            case .completed?: progress = .completed
            case .failed?: progress = .failed
            case .pending?, nil: progress = nil
            }
            return DemoRebalance(
                kind: EMQXRebalance.kind,
                name: record.metadata.name ?? "",
                phase: record.status?.phase,
                progress: progress,
                createdAt: KubernetesTime.parse(record.metadata.creationTimestamp),
                completedAt: KubernetesTime.parse(record.status?.completedTime),
                outcome: record.metadata.annotations?[RebalanceMetadata.outcomeKey],
                spec: RebalanceSpec(
                    instanceKind: reference.kind,
                    instanceName: record.spec.cluster,
                    rebalanceStrategy: record.spec.strategy
                )
            )
        }
        return (rebalances + records).sorted {
            ($0.createdAt ?? .distantPast, $0.name) < ($1.createdAt ?? .distantPast, $1.name)
        }
    }

    var summary: DemoSummary.CreatedRebalance { .init(kind: kind, name: name, phase: phase, spec: spec) }
}
