import AutorebalancerCore
import Foundation
import Kubernetes

/// One cluster as observed at the start of a cycle: its EMQX object and, depending on how the cluster is acted on,
/// every Rebalance of its namespace or its `EMQXRebalance` records with EMQX's own view, each read once. The engine
/// (history, facts), the gates (blocker) and the actuator (which then only writes) all work on this one value, so
/// they never disagree about what the cluster shows.
public struct ObservedCluster: Sendable {
    public var reference: ClusterReference
    /// `nil` for a cluster entry without an EMQX object (`emqx:`), known only through EMQX's own API.
    public var object: ClusterObject?
    /// Every Rebalance of the cluster's namespace (ours, others', other clusters'); `nil` when the list failed or the
    /// cluster is not acted on through the `Rebalance` resource.
    public var rebalances: [Rebalance]?
    /// Why the list failed, worded for a person.
    public var rebalancesError: String?
    /// Where the cluster is acted on through EMQX's API (or has no EMQX object): its records and EMQX's view.
    public var emqxAPI: EMQXAPIView?

    public init(
        reference: ClusterReference,
        object: ClusterObject?,
        rebalances: [Rebalance]?,
        rebalancesError: String? = nil,
        emqxAPI: EMQXAPIView? = nil
    ) {
        self.reference = reference
        self.object = object
        self.rebalances = rebalances
        self.rebalancesError = rebalancesError
        self.emqxAPI = emqxAPI
    }

    /// Completes the view of a cluster whose EMQX object the cycle has read: one LIST of the namespace's Rebalances.
    /// A failed list is kept in `rebalancesError`: the engine then treats a running rebalance as unknown.
    public static func read(
        _ reference: ClusterReference,
        object: ClusterObject,
        from api: any KubernetesAPI
    ) async -> ObservedCluster {
        do {
            let rebalances = try await api.rebalances(namespace: reference.namespace, labelSelector: nil)
            return ObservedCluster(reference: reference, object: object, rebalances: rebalances)
        } catch {
            return ObservedCluster(reference: reference, object: object, rebalances: nil, rebalancesError: "\(error)")
        }
    }

    /// The view of a cluster acted on through EMQX's API: one LIST of its records, EMQX's `global_status` and
    /// `/api/v5/nodes` (see `EMQXAPIActuator.observe`).
    public static func read(
        _ reference: ClusterReference,
        object: ClusterObject?,
        emqx: any EMQXRebalanceAPI,
        records store: any EMQXRebalanceStore
    ) async -> ObservedCluster {
        var view = EMQXAPIView(emqx: emqx, owner: object?.ownerReference)
        do {
            view.observation = try await EMQXAPIActuator.observe(reference, emqx: emqx, store: store)
        } catch {
            view.recordsError = "\(error)"
        }
        return ObservedCluster(reference: reference, object: object, rebalances: nil, emqxAPI: view)
    }

    /// The cluster's rebalance history (ours and others'), with the person's reset of the ineffective limit read from
    /// the EMQX object's annotation; `nil` when the Rebalances (or records) could not be listed.
    public var history: ActionHistory? {
        let reset = KubernetesTime.parse(object?.metadata.annotations?[PolicyAnnotations.resetIneffective])
        if let emqxAPI {
            return emqxAPI.observation.map { ActionHistory(rebalances: $0.history, ineffectiveResetAt: reset) }
        }
        guard let rebalances else { return nil }
        return RebalanceHistory.build(from: rebalances, for: reference, ineffectiveResetAt: reset)
    }

    /// The Rebalance that blocks a new one now (see `RebalanceLifecycle.blocker`); `nil` when none does or the list
    /// failed.
    public var blocker: RebalanceLifecycle.Blocker? {
        rebalances.flatMap { RebalanceLifecycle.blocker($0, for: reference) }
    }

    /// Whether a rebalance (ours or not) runs or may run now, whichever way the cluster is acted on; `nil` unknown
    /// (the list failed, EMQX could not be asked): then the actuator finds the blocker when it acts.
    public var rebalanceRunning: Bool? {
        if let emqxAPI {
            guard let observation = emqxAPI.observation, case .status = observation.emqx else { return nil }
            return observation.blocker(EMQXRebalanceLifecycle()) != nil
        }
        guard rebalances != nil else { return nil }
        return blocker != nil
    }

    /// Why the records or EMQX's view could not be read this cycle, worded for a person; `nil` when they were.
    public var readErrors: [String] {
        var errors: [String] = []
        if let error = rebalancesError { errors.append("cannot list the Rebalances of \(reference): \(error)") }
        if let emqxAPI {
            if let error = emqxAPI.recordsError {
                errors.append("cannot list the EMQXRebalance records of \(reference): \(error)")
            }
            if case .unknown(let why)? = emqxAPI.observation?.emqx {
                errors.append("cannot read EMQX's load_rebalance global_status of \(reference): \(why)")
            }
            if let why = emqxAPI.observation?.nodesError {
                errors.append("cannot read EMQX's /api/v5/nodes of \(reference): \(why)")
            }
        }
        return errors
    }
}

/// What a cycle read of a cluster acted on through EMQX's API, and the client to act with.
public struct EMQXAPIView: Sendable {
    /// The cluster's EMQX API (credentials resolved by the wiring).
    public var emqx: any EMQXRebalanceAPI
    /// Records are owned by the EMQX object, when there is one.
    public var owner: OwnerReference?
    /// `nil` when the records could not be listed (`recordsError`).
    public var observation: EMQXAPIActuator.Observation?
    public var recordsError: String?
    /// The rebalanced node set (replicants if any, else cores) in the order EMQX's coordinator is chosen from, set by
    /// the loop from its reading of the cluster.
    public var rebalancedNodes: [String]?

    public init(
        emqx: any EMQXRebalanceAPI,
        owner: OwnerReference? = nil,
        observation: EMQXAPIActuator.Observation? = nil,
        recordsError: String? = nil,
        rebalancedNodes: [String]? = nil
    ) {
        self.emqx = emqx
        self.owner = owner
        self.observation = observation
        self.recordsError = recordsError
        self.rebalancedNodes = rebalancedNodes
    }
}
