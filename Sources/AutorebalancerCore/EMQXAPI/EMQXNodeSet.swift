import Foundation

extension LoadRebalance {
    /// A cluster as EMQX's own `GET /api/v5/nodes` describes it, for cluster entries without an EMQX object (Helm
    /// installs, plain StatefulSets): which nodes a rebalance covers, and whether the cluster is Ready.
    public struct NodeSet: Sendable, Hashable {
        public var nodes: [NodeInfo]

        public init(_ nodes: [NodeInfo]) { self.nodes = nodes }

        /// The rebalanced set, as the operator picks it: the running replicants if the cluster has any replicant,
        /// else the running core nodes; in EMQX's order (its first node coordinates).
        public var rebalanced: [String] {
            let hasReplicants = nodes.contains { $0.role == .replicant }
            return nodes.filter { $0.isRunning && ($0.role ?? .core) == (hasReplicants ? .replicant : .core) }.map(
                \.node
            )
        }

        /// `nil` when every member reports `node_status: running` (the operator's own test for Ready), else why not.
        public var notReadyReason: String? {
            if nodes.isEmpty { return "EMQX lists no nodes" }
            let down = nodes.filter { !$0.isRunning }.map(\.node)
            return down.isEmpty ? nil : "EMQX reports nodes not running: \(down.joined(separator: ", "))"
        }

        public var ready: Bool { notReadyReason == nil }

        /// When each running node started, from its uptime (an uptime beyond ten years is unknown).
        public func startTimes(at now: Date) -> [String: Date] {
            var result: [String: Date] = [:]
            for node in nodes where node.isRunning {
                guard let uptime = Self.uptimeSeconds(node) else { continue }
                result[node.node] = now.addingTimeInterval(-uptime)
            }
            return result
        }

        /// A node's uptime in seconds; `nil` when unknown or beyond ten years (implausible).
        static func uptimeSeconds(_ node: NodeInfo) -> Double? {
            guard let uptime = node.uptimeMilliseconds, uptime <= 315_360_000_000 else { return nil }
            return Double(uptime) / 1000
        }

        /// The nodes of the rebalanced role (replicants if any, else cores), running or not: the set whose counts
        /// must all be known before a rule may act.
        public var rebalancedRole: [NodeInfo] {
            let hasReplicants = nodes.contains { $0.role == .replicant }
            return nodes.filter { ($0.role ?? .core) == (hasReplicants ? .replicant : .core) }
        }

        /// The cluster as the engine reads it, from this answer alone (pure): Ready from `node_status`, the edition
        /// from `edition`, counts of the rebalanced role. Upgrades and scale-ins are unknown without an operator;
        /// evacuations come from EMQX's `global_status` (`evacuating`, `nil` when it could not be read).
        public func reading(at now: Date, evacuating: Bool?) -> ClusterReading {
            let editions = nodes.compactMap(\.edition)
            let enterprise: Bool? =
                nodes.isEmpty || editions.count != nodes.count
                ? nil : editions.allSatisfy { $0.lowercased() == "enterprise" }
            var notes: [String] = []
            if let reason = notReadyReason { notes.append(reason) }
            let facts = ClusterFacts(
                ready: ready,
                upgrading: nil,
                evacuating: evacuating,
                scalingIn: nil,
                enterprise: enterprise
            )
            let members = rebalancedRole
            let observations = members.map { node in
                NodeObservation(
                    name: node.node,
                    role: node.role,
                    running: node.isRunning,
                    liveConnections: node.liveConnections.map(Double.init),
                    sessions: node.sessions.map(Double.init),
                    observedAt: now,
                    uptimeSeconds: Self.uptimeSeconds(node)
                )
            }
            return ClusterReading(
                facts: facts,
                expectedNodes: members.map { ExpectedNode(name: $0.node, role: $0.role) },
                nodes: observations,
                notes: notes,
                emqxVersions: Array(Set(nodes.compactMap(\.version))).sorted()
            )
        }
    }
}
