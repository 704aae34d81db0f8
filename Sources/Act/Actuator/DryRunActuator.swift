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
    /// How `EMQXRebalance` records would be followed, for clusters acted on through EMQX's API.
    public let recordLifecycle: EMQXRebalanceLifecycle
    private let logger: Logger
    private let plannedRebalances = Mutex<[Rebalance]>([])

    public init(
        lifecycle: RebalanceLifecycle = RebalanceLifecycle(),
        recordLifecycle: EMQXRebalanceLifecycle = .init(),
        logger: Logger
    ) {
        self.lifecycle = lifecycle
        self.recordLifecycle = recordLifecycle
        self.logger = logger
    }

    /// Every Rebalance an `act` would have written, in order.
    public var planned: [Rebalance] { plannedRebalances.withLock { $0 } }

    public func act(_ decision: DecisionRecord, on cluster: ObservedCluster, at now: Date) async -> ActionReport {
        if let view = cluster.emqxAPI { return act(decision, through: view, cluster: cluster.reference) }
        guard let (rebalance, object) = RebalanceFactory.make(decision, on: cluster) else {
            return .unbuildable(decision, on: cluster)
        }
        if let blocker = cluster.blocker {
            logger.info("dry run: \(cluster.reference): rule \(decision.rule) would be blocked: \(blocker)")
            return ActionReport(result: .notMade(.blocked("\(blocker)")), rule: decision.rule, object: object)
        }
        plannedRebalances.withLock { $0.append(rebalance) }
        return ActionReport(
            result: .notMade(.dryRun(wouldCreate: object.description)),
            rule: decision.rule,
            object: object
        )
    }

    /// The `EMQXRebalance` a decision would write and start, or why it would be blocked.
    func act(_ decision: DecisionRecord, through view: EMQXAPIView, cluster: ClusterReference) -> ActionReport {
        guard let object = EMQXAPIActuator.plannedRecord(decision, cluster: cluster, view: view) else {
            return ActionReport(
                result: .failed(
                    ActionFailure(.invalid, "the decision has no strategy or the cluster's node set is unknown")
                ),
                rule: decision.rule
            )
        }
        let blocker =
            view.observation.map { $0.blocker(recordLifecycle) } ?? "the EMQXRebalance records could not be listed"
        if let blocker {
            logger.info("dry run: \(cluster): rule \(decision.rule) would be blocked: \(blocker)")
            return ActionReport(result: .notMade(.blocked(blocker)), rule: decision.rule, object: object)
        }
        return ActionReport(
            result: .notMade(.dryRun(wouldCreate: object.description)),
            rule: decision.rule,
            object: object
        )
    }

    public func follow(_ cluster: ObservedCluster, inputs: FollowInputs) async -> [FollowReport] {
        if let view = cluster.emqxAPI {
            guard let observation = view.observation else { return [] }
            let planInputs = EMQXRebalanceLifecycle.Inputs(
                now: inputs.now,
                emqx: observation.emqx,
                closedGate: inputs.clusterGate,
                rebalancedNodes: view.rebalancedNodes,
                members: observation.members(at: inputs.now),
                counts: inputs.counts
            )
            return recordLifecycle.plan(observation.records, inputs: planInputs).map {
                FollowReport(step: .record($0), performed: false, error: "dry run")
            }
        }
        guard let rebalances = cluster.rebalances else { return [] }
        let actions = lifecycle.plan(
            rebalances,
            for: cluster.reference,
            inputs: .init(
                now: inputs.now,
                clusterReady: inputs.clusterReady,
                counts: inputs.counts,
                probe: .unreachable("dry run")
            )
        )
        return actions.map { FollowReport(action: $0, performed: false, error: "dry run") }
    }
}
