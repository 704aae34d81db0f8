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
    /// The operator's reconciliation of the cluster is paused (3.0: condition `Paused` True).
    public var operatorPaused: Bool?
    /// Pods the operator is removing: marked `apps.emqx.io/scaling-down` (3.0) or terminating. `nil` when not read.
    public var podsBeingRemoved: [String]?
    /// Why the pods could not be read where the agent needs them (3.0): then it cannot tell whether any is being
    /// removed, and holds back.
    public var podsUnreadable: String?
    /// Nodes of the rebalanced role the spec wants but that are not running yet (an HPA or manual scale-out still
    /// starting), with the wanted and running counts; `nil` when the spec does not say.
    public var nodesPending: NodesPending?
    /// Why the agent cannot rebalance this cluster at all (`ActingMode.alertOnly`); `nil` when it can.
    public var cannotAct: String?

    public init(
        ready: Bool? = nil,
        upgrading: Bool? = nil,
        evacuating: Bool? = nil,
        scalingIn: Bool? = nil,
        rebalanceRunning: Bool? = nil,
        enterprise: Bool? = nil,
        operatorPaused: Bool? = nil,
        podsBeingRemoved: [String]? = nil,
        nodesPending: NodesPending? = nil
    ) {
        self.ready = ready
        self.upgrading = upgrading
        self.evacuating = evacuating
        self.scalingIn = scalingIn
        self.rebalanceRunning = rebalanceRunning
        self.enterprise = enterprise
        self.operatorPaused = operatorPaused
        self.podsBeingRemoved = podsBeingRemoved
        self.nodesPending = nodesPending
    }

    /// Facts assumed when nothing but metrics is known (backtests): ready, no upgrade, no evacuation, nothing running.
    public static let assumedFine = ClusterFacts(
        ready: true,
        upgrading: false,
        evacuating: false,
        scalingIn: false,
        rebalanceRunning: false,
        enterprise: true
    )
}

/// Nodes a scale-out still waits for: the spec wants `wanted` nodes of the rebalanced role, `running` run.
public struct NodesPending: Sendable, Hashable, Codable {
    public var wanted: Int
    public var running: Int
    public var role: NodeRole

    public init(wanted: Int, running: Int, role: NodeRole) {
        self.wanted = wanted
        self.running = running
        self.role = role
    }

    /// How many more nodes must be Ready (never negative).
    public var count: Int { wanted > running ? wanted - running : 0 }
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
