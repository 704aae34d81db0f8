/// What the EMQX object (and, on 3.0, its pods) says about its cluster, whichever wire format it came in: the facts
/// the engine gates on, the rebalanced node set, and the per-node counts of its status with their meaning explicit
/// (connected clients are `liveConnections`, sessions are `sessions`; one is never taken for the other).
///
/// A missing field is unknown, never zero, except the operator's `omitempty` counts (`StatusCount`). Unknown fields
/// are ignored.
public struct ClusterReading: Sendable, Hashable {
    public var facts: ClusterFacts
    /// The rebalanced node set: replicants if the cluster has (or wants) any, else cores (EMQX 4.4: every node),
    /// without the nodes the operator is removing.
    public var expectedNodes: [ExpectedNode]
    /// Per-node counts from status for the rebalanced set. `observedAt` is left `nil` here.
    public var nodes: [NodeObservation]
    /// Human explanations of facts that are not plain (why scaling in, why upgrading, which node leaves).
    public var notes: [String]
    /// How absent or implausible counts were read (the `omitempty` rule), for `run --once`.
    public var countNotes: [String]
    /// The EMQX versions the nodes report, distinct and sorted.
    public var emqxVersions: [String]

    public init(
        facts: ClusterFacts,
        expectedNodes: [ExpectedNode],
        nodes: [NodeObservation],
        notes: [String] = [],
        countNotes: [String] = [],
        emqxVersions: [String] = []
    ) {
        self.facts = facts
        self.expectedNodes = expectedNodes
        self.nodes = nodes
        self.notes = notes
        self.countNotes = countNotes
        self.emqxVersions = emqxVersions
    }

    /// Reads an EMQX object (pure). `pods` are the cluster's pods where the agent read them (3.0, for the
    /// `apps.emqx.io/scaling-down` mark); `nil` when not read.
    public static func read(_ object: ClusterObject, pods: [Pod]? = nil) -> ClusterReading {
        switch object {
        case .emqx(let resource): EMQX5Status(v2beta1: resource).reading(pods: pods)
        case .emqxV2(let resource): EMQX5Status(resource, version: .v2).reading(pods: pods)
        case .emqxV3beta1(let resource): EMQX5Status(resource, version: .v3beta1).reading(pods: pods)
        case .emqxEnterprise(let resource): read(resource)
        }
    }

    /// EMQX 4.4: `Running` condition, `blueGreenUpdateStatus`, replicas. Always Enterprise (the kind says so).
    static func read(_ resource: EmqxEnterpriseResource) -> ClusterReading {
        var notes: [String] = []
        let status = resource.status
        let ready: Bool? = status == nil ? nil : (status?.conditions ?? []).isTrue("Running")
        let blueGreen = status?.blueGreenUpdateStatus != nil
        if blueGreen { notes.append("blue-green update in progress") }
        let upgrading: Bool? = status == nil ? nil : blueGreen
        var scalingIn: Bool? = status == nil ? nil : false
        if let wanted = resource.spec?.replicas, let have = status?.replicas, wanted < have {
            scalingIn = true
            notes.append("replicas shrinking: spec \(wanted) < status \(have)")
        }
        let nodes = status?.emqxNodes ?? []
        for node in nodes where node.nodeStatus.map({ $0.lowercased() != "running" }) ?? false {
            scalingIn = true
            notes.append("node \(node.node) is \(node.nodeStatus ?? "")")
        }
        var sessionNotes = StatusCount.Notes()
        let observations = nodes.map { node in
            // Not known to be omitempty in v1beta4: an absent count stays unknown.
            let sessions = StatusCount.read(
                node.connections.map(Int64.init),
                absentMeansZero: false,
                whyUnknown: "the EmqxEnterprise status does not say"
            )
            sessionNotes.record(sessions, node: node.node)
            return NodeObservation(
                name: node.node,
                role: .core,
                running: node.nodeStatus.map { $0.lowercased() == "running" },
                sessions: sessions.number
            )
        }
        return ClusterReading(
            facts: ClusterFacts(
                ready: ready,
                upgrading: upgrading,
                evacuating: upgrading,
                scalingIn: scalingIn,
                enterprise: true
            ),
            expectedNodes: nodes.map { ExpectedNode(name: $0.node, role: .core) },
            nodes: observations,
            notes: notes,
            countNotes: sessionNotes.lines(field: "connections (sessions)", zeroCondition: ""),
            emqxVersions: Set(nodes.compactMap(\.version)).sorted()
        )
    }
}

extension ClusterReading {
    /// Why the status metric source (per-node counts from the EMQX object's status) cannot serve connection rules
    /// for a kind, or `nil` when it can. `check` and the source itself say it.
    public static func statusSourceNote(for kind: InstanceKind) -> String? {
        switch kind {
        case .emqx:
            nil
        case .emqxEnterprise:
            "the EmqxEnterprise (EMQX 4.4) status has no live-connection count: the status metric source serves session rules only; use the Prometheus or direct EMQX source for connection rules"
        }
    }
}
