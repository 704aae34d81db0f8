import AutorebalancerCore
import Foundation
import Kubernetes

/// The write side of the agent for Rebalances: one live implementation (`KubernetesActuator`) and one that writes
/// nothing (`DryRunActuator`).
public protocol RebalanceActuator: Sendable {
    /// The cluster's rebalance history, rebuilt from the Rebalances the API lists (ours and others').
    func history(for cluster: ClusterReference) async throws -> ActionHistory

    /// The Rebalance that blocks a new one for this cluster right now, if any (a `Processing` one, one of ours not yet
    /// picked up, or one of ours `Failed ... not ready` not yet confirmed). The agent loop sets
    /// `ClusterFacts.rebalanceRunning` from it.
    func blocker(for cluster: ClusterReference) async throws -> RebalanceLifecycle.Blocker?

    /// Creates the Rebalance of a `rebalance` decision unless another one blocks it. Idempotent: the name is
    /// deterministic and AlreadyExists for our own name is success.
    func create(_ decision: DecisionRecord, on object: ClusterObject, at now: Date) async throws -> CreateResult

    /// Follows the cluster's Rebalances of ours: judges outcomes, records them, retries ordinary failures, reports
    /// stuck ones, deletes old finished ones. Returns one report per action planned.
    func follow(_ object: ClusterObject, inputs: FollowInputs) async throws -> [FollowReport]
}

/// What `create` did.
public enum CreateResult: Sendable, Hashable {
    case created(Rebalance)
    /// Our deterministic name existed already (an earlier attempt, another replica): counted as done.
    case alreadyExists(Rebalance)
    /// Another Rebalance blocks this one; nothing was written but the (aggregated) `RebalanceBlocked` Event.
    case blocked(RebalanceLifecycle.Blocker)
    /// Not the leader: nothing written.
    case notLeader
    /// Dry run: what would have been created.
    case wouldCreate(Rebalance)
}

/// Inputs of one follow cycle.
public struct FollowInputs: Sendable, Hashable {
    public var now: Date
    /// The cluster's Ready (5) / Running (4.4) condition, `nil` unknown.
    public var clusterReady: Bool?
    /// Current per-node counts of the rebalanced node set (live connections, sessions); `nil` when unknown.
    public var counts: [BalanceMath.NodeCounts]?

    public init(now: Date, clusterReady: Bool?, counts: [BalanceMath.NodeCounts]?) {
        self.now = now
        self.clusterReady = clusterReady
        self.counts = counts
    }
}

/// One planned lifecycle action and whether it was carried out.
public struct FollowReport: Sendable, Hashable {
    public var action: RebalanceLifecycle.Action
    /// `true` when written (or, for report-only actions, nothing needed writing).
    public var performed: Bool
    /// Why it could not be performed (not the leader, an API error).
    public var error: String?

    public init(action: RebalanceLifecycle.Action, performed: Bool, error: String? = nil) {
        self.action = action
        self.performed = performed
        self.error = error
    }
}
