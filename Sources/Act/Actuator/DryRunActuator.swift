import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import Synchronization

/// Writes nothing: reads what it can (history, blockers) when given an API, logs what it would do, and returns it.
/// Also records every Rebalance it would have created (`planned`).
public final class DryRunActuator: RebalanceActuator {
    public let api: (any KubernetesAPI)?
    public let lifecycle: RebalanceLifecycle
    private let logger: Logger
    private let plannedRebalances = Mutex<[Rebalance]>([])

    /// - Parameter api: for reads only; `nil` plans against an empty cluster.
    public init(api: (any KubernetesAPI)?, lifecycle: RebalanceLifecycle = RebalanceLifecycle(), logger: Logger) {
        self.api = api
        self.lifecycle = lifecycle
        self.logger = logger
    }

    /// Every Rebalance a `create` would have written, in order.
    public var planned: [Rebalance] { plannedRebalances.withLock { $0 } }

    public func history(for cluster: ClusterReference) async throws -> ActionHistory {
        guard let api else { return .empty }
        return RebalanceHistory.build(from: try await api.rebalances(namespace: cluster.namespace, labelSelector: nil), for: cluster)
    }

    public func blocker(for cluster: ClusterReference) async throws -> RebalanceLifecycle.Blocker? {
        guard let api else { return nil }
        return lifecycle.blocker(try await api.rebalances(namespace: cluster.namespace, labelSelector: nil), for: cluster)
    }

    public func create(_ decision: DecisionRecord, on object: ClusterObject, at now: Date) async throws -> CreateResult {
        let rebalance = try RebalanceFactory.make(decision, for: object)
        if let api, let cluster = object.clusterReference {
            let existing = try await api.rebalances(namespace: cluster.namespace, labelSelector: nil)
            if let blocker = lifecycle.blocker(existing, for: cluster) {
                logger.info("dry run: \(cluster): rule \(decision.rule) would be blocked: \(blocker)")
                return .blocked(blocker)
            }
        }
        plannedRebalances.withLock { $0.append(rebalance) }
        let spec = (try? String(decoding: JSONEncoder().encode(rebalance.spec), as: UTF8.self)) ?? ""
        logger.notice("dry run: would create Rebalance \(rebalance.metadata.namespace ?? "")/\(rebalance.metadata.name ?? "") \(spec)")
        return .wouldCreate(rebalance)
    }

    public func follow(_ object: ClusterObject, inputs: FollowInputs) async throws -> [FollowReport] {
        guard let api, let cluster = object.clusterReference else { return [] }
        // All of the namespace, not only ours: a running foreign Rebalance must hold back a retry.
        let rebalances = try await api.rebalances(namespace: cluster.namespace, labelSelector: nil)
        let actions = lifecycle.plan(
            rebalances, for: cluster,
            inputs: .init(now: inputs.now, clusterReady: inputs.clusterReady, counts: inputs.counts, probe: .unreachable("dry run"))
        )
        return actions.map { action in
            logger.info("dry run: \(cluster): would \(action)")
            return FollowReport(action: action, performed: false, error: "dry run")
        }
    }
}
