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
            return nodes.filter { $0.isRunning && ($0.role ?? .core) == (hasReplicants ? .replicant : .core) }.map(\.node)
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
                guard let uptime = node.uptimeMilliseconds, uptime <= 315_360_000_000 else { continue }
                result[node.node] = now.addingTimeInterval(-Double(uptime) / 1000)
            }
            return result
        }
    }
}
