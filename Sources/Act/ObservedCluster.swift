import AutorebalancerCore
import Foundation
import Kubernetes

/// One cluster as observed at the start of a cycle: its EMQX object and every Rebalance of its namespace, each read
/// once. The engine (history, facts), the gates (blocker) and the actuator (which then only writes) all work on this
/// one value, so they never disagree about what the cluster shows.
public struct ObservedCluster: Sendable {
    public var reference: ClusterReference
    public var object: ClusterObject
    /// Every Rebalance of the cluster's namespace (ours, others', other clusters'); `nil` when the list failed.
    public var rebalances: [Rebalance]?
    /// Why the list failed, worded for a person.
    public var rebalancesError: String?

    public init(reference: ClusterReference, object: ClusterObject, rebalances: [Rebalance]?, rebalancesError: String? = nil) {
        self.reference = reference
        self.object = object
        self.rebalances = rebalances
        self.rebalancesError = rebalancesError
    }

    /// Completes the view of a cluster whose EMQX object the cycle has read: one LIST of the namespace's Rebalances.
    /// A failed list is kept in `rebalancesError`: the engine then treats a running rebalance as unknown.
    public static func read(_ reference: ClusterReference, object: ClusterObject, from api: any KubernetesAPI) async -> ObservedCluster {
        do {
            let rebalances = try await api.rebalances(namespace: reference.namespace, labelSelector: nil)
            return ObservedCluster(reference: reference, object: object, rebalances: rebalances)
        } catch {
            return ObservedCluster(reference: reference, object: object, rebalances: nil, rebalancesError: "\(error)")
        }
    }

    /// The cluster's rebalance history (ours and others'), with the person's reset of the ineffective limit read from
    /// the EMQX object's annotation; `nil` when the Rebalances could not be listed.
    public var history: ActionHistory? {
        guard let rebalances else { return nil }
        let reset = KubernetesTime.parse(object.metadata.annotations?[PolicyAnnotations.resetIneffective])
        return RebalanceHistory.build(from: rebalances, for: reference, ineffectiveResetAt: reset)
    }

    /// The Rebalance that blocks a new one now (see `RebalanceLifecycle.blocker`); `nil` when none does or the list
    /// failed.
    public var blocker: RebalanceLifecycle.Blocker? {
        rebalances.flatMap { RebalanceLifecycle.blocker($0, for: reference) }
    }
}
