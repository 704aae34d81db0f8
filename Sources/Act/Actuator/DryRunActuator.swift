import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import Synchronization

/// Writes nothing: says what it would create and what it would do about the cluster's Rebalances, and reports every
/// decision as not made (`dry run`), so no rule ever enters `acted` and no cooldown or limit starts. Also records
/// every Rebalance it would have created (`planned`).
public final class DryRunActuator: RebalanceActuator {
    public let lifecycle: RebalanceLifecycle
    private let logger: Logger
    private let plannedRebalances = Mutex<[Rebalance]>([])

    public init(lifecycle: RebalanceLifecycle = RebalanceLifecycle(), logger: Logger) {
        self.lifecycle = lifecycle
        self.logger = logger
    }

    /// Every Rebalance an `act` would have written, in order.
    public var planned: [Rebalance] { plannedRebalances.withLock { $0 } }

    public func act(_ decision: DecisionRecord, on cluster: ObservedCluster, at now: Date) async -> ActionReport {
        guard let (rebalance, object) = RebalanceFactory.make(decision, on: cluster) else { return .unbuildable(decision, on: cluster) }
        if let blocker = cluster.blocker {
            logger.info("dry run: \(cluster.reference): rule \(decision.rule) would be blocked: \(blocker)")
            return ActionReport(result: .notMade(.blocked("\(blocker)")), rule: decision.rule, object: object)
        }
        plannedRebalances.withLock { $0.append(rebalance) }
        return ActionReport(result: .notMade(.dryRun(wouldCreate: object.description)), rule: decision.rule, object: object)
    }

    public func follow(_ cluster: ObservedCluster, inputs: FollowInputs) async -> [FollowReport] {
        guard let rebalances = cluster.rebalances else { return [] }
        let actions = lifecycle.plan(
            rebalances, for: cluster.reference,
            inputs: .init(now: inputs.now, clusterReady: inputs.clusterReady, counts: inputs.counts, probe: .unreachable("dry run"))
        )
        return actions.map { FollowReport(action: $0, performed: false, error: "dry run") }
    }
}
