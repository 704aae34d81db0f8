import Foundation

/// Facts about a cluster that are not per-node metrics. `nil` always means *unknown*.
public struct ClusterFacts: Sendable, Hashable, Codable {
    /// EMQX 5: the `Ready` condition is True; EMQX 4.4: the `Running` condition is True.
    public var ready: Bool?
    /// A rolling or blue-green update is in progress (`updateRevision != currentRevision`, `blueGreenUpdateStatus`).
    public var upgrading: Bool?
    /// The operator is evacuating nodes (`nodeEvacuationsStatus` non-empty).
    public var evacuating: Bool?
    /// Replicas are shrinking or a node is terminating.
    public var scalingIn: Bool?
    /// A rebalance is running on the cluster (a `Rebalance` in `Processing`, or EMQX's `global_status` says so).
    public var rebalanceRunning: Bool?
    /// Every node reports the Enterprise edition (rebalance is Enterprise-only).
    public var enterprise: Bool?

    public init(
        ready: Bool? = nil,
        upgrading: Bool? = nil,
        evacuating: Bool? = nil,
        scalingIn: Bool? = nil,
        rebalanceRunning: Bool? = nil,
        enterprise: Bool? = nil
    ) {
        self.ready = ready
        self.upgrading = upgrading
        self.evacuating = evacuating
        self.scalingIn = scalingIn
        self.rebalanceRunning = rebalanceRunning
        self.enterprise = enterprise
    }

    /// Facts assumed when nothing but metrics is known (backtests): ready, no upgrade, no evacuation, nothing running.
    public static let assumedFine = ClusterFacts(
        ready: true, upgrading: false, evacuating: false, scalingIn: false, rebalanceRunning: false, enterprise: true
    )
}

/// Everything the engine sees about one cluster at one evaluation instant.
public struct ClusterSnapshot: Sendable, Hashable, Codable {
    public var cluster: ClusterReference
    /// The evaluation instant.
    public var takenAt: Date
    /// The node names that *should* report: the rebalanced node set as the EMQX object lists it. `nil` when unknown,
    /// in which case the nodes that reported are taken as the set.
    public var expectedNodes: [String]?
    /// Per-node observations; may lack nodes of `expectedNodes` (they are then *missing*, never zero).
    public var nodes: [NodeObservation]
    public var facts: ClusterFacts

    public init(
        cluster: ClusterReference,
        takenAt: Date,
        expectedNodes: [String]? = nil,
        nodes: [NodeObservation],
        facts: ClusterFacts = ClusterFacts()
    ) {
        self.cluster = cluster
        self.takenAt = takenAt
        self.expectedNodes = expectedNodes
        self.nodes = nodes
        self.facts = facts
    }

    /// The nodes EMQX would rebalance: replicants if any node is known to be one, else every node (cores).
    public var rebalancedNodes: [NodeObservation] {
        let replicants = nodes.filter { $0.role == .replicant }
        return replicants.isEmpty ? nodes : replicants
    }

    /// Names of expected nodes with no observation at all.
    public var missingNodes: [String] {
        guard let expectedNodes else { return [] }
        let seen = Set(nodes.map(\.name))
        return expectedNodes.filter { !seen.contains($0) }
    }

    /// The observation of a node, if any.
    public func node(named name: String) -> NodeObservation? {
        nodes.first { $0.name == name }
    }
}
