import AutorebalancerCore
import Foundation

/// What the EMQX object says about its cluster: the facts the engine gates on, the rebalanced node set, and the
/// per-node counts of its status.
public struct ClusterReading: Sendable, Hashable {
    public var facts: ClusterFacts
    /// The rebalanced node set: replicants if the cluster has any, else cores (EMQX 4.4: every node).
    public var expectedNodes: [ExpectedNode]
    /// Per-node counts from status (see `EMQXStatusSource` for what they mean). `observedAt` is left `nil` here.
    public var nodes: [NodeObservation]
    /// Human explanations of facts that are not plain (why scaling-in, why upgrading).
    public var notes: [String]

    public init(facts: ClusterFacts, expectedNodes: [ExpectedNode], nodes: [NodeObservation], notes: [String] = []) {
        self.facts = facts
        self.expectedNodes = expectedNodes
        self.nodes = nodes
        self.notes = notes
    }

    /// Reads an EMQX object (pure).
    public static func read(_ object: ClusterObject) -> ClusterReading {
        switch object {
        case .emqx(let resource): read(resource)
        case .emqxEnterprise(let resource): read(resource)
        }
    }

    /// EMQX 5: `Ready` condition, revisions, evacuations, editions, replicas.
    public static func read(_ resource: EMQXResource) -> ClusterReading {
        var notes: [String] = []
        let status = resource.status
        let conditions = status?.conditions ?? []
        let ready: Bool? = status == nil ? nil : conditions.isTrue("Ready")

        var upgrading: Bool? = nil
        for (label, nodes) in [("core", status?.coreNodesStatus), ("replicant", status?.replicantNodesStatus)] {
            guard let nodes, let update = nodes.updateRevision, let current = nodes.currentRevision else { continue }
            if update != current {
                upgrading = true
                notes.append("\(label) updateRevision \(update) != currentRevision \(current)")
            } else if upgrading == nil {
                upgrading = false
            }
        }
        let evacuating: Bool? = status.map { !($0.nodeEvacuationsStatus ?? []).isEmpty }
        if evacuating == true { upgrading = true }

        let cores = status?.coreNodes ?? []
        let replicants = status?.replicantNodes ?? []
        let all = cores + replicants
        let enterprise: Bool? = {
            let editions = all.compactMap(\.edition)
            guard !editions.isEmpty, editions.count == all.count else { return nil }
            return editions.allSatisfy { $0 == "Enterprise" }
        }()

        var scalingIn: Bool? = status == nil ? nil : false
        let pairs: [(String, Int?, EMQXResource.NodesStatus?)] = [
            ("core", resource.spec?.coreTemplate?.spec?.replicas, status?.coreNodesStatus),
            ("replicant", resource.spec?.replicantTemplate?.spec?.replicas, status?.replicantNodesStatus),
        ]
        for (label, wanted, nodes) in pairs {
            if let wanted, let have = nodes?.replicas, wanted < have {
                scalingIn = true
                notes.append("\(label) replicas shrinking: spec \(wanted) < status \(have)")
            }
        }
        for node in all where node.nodeStatus.map({ $0.lowercased() != "running" }) ?? false {
            scalingIn = true
            notes.append("node \(node.node) is \(node.nodeStatus ?? "")")
        }

        let rebalanced = replicants.isEmpty ? cores : replicants
        let role: NodeRole = replicants.isEmpty ? .core : .replicant
        let expected = rebalanced.map { ExpectedNode(name: $0.node, role: role) }
        let observations = rebalanced.map { node in
            NodeObservation(
                name: node.node,
                role: role,
                running: node.nodeStatus.map { $0.lowercased() == "running" },
                liveConnections: node.liveConnections.map(Double.init),
                sessions: node.connections.map(Double.init)
            )
        }
        return ClusterReading(
            facts: ClusterFacts(ready: ready, upgrading: upgrading, evacuating: evacuating, scalingIn: scalingIn, enterprise: enterprise),
            expectedNodes: expected,
            nodes: observations,
            notes: notes
        )
    }

    /// EMQX 4.4: `Running` condition, `blueGreenUpdateStatus`, replicas. Always Enterprise (the kind says so).
    public static func read(_ resource: EmqxEnterpriseResource) -> ClusterReading {
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
        return ClusterReading(
            facts: ClusterFacts(ready: ready, upgrading: upgrading, evacuating: upgrading, scalingIn: scalingIn, enterprise: true),
            expectedNodes: nodes.map { ExpectedNode(name: $0.node, role: .core) },
            nodes: nodes.map { node in
                NodeObservation(
                    name: node.node, role: .core, running: node.nodeStatus.map { $0.lowercased() == "running" },
                    sessions: node.connections.map(Double.init)
                )
            },
            notes: notes
        )
    }
}
