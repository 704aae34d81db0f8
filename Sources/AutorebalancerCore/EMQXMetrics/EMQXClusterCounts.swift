/// Cluster membership as EMQX's `emqx_cluster_nodes_running` / `emqx_cluster_nodes_stopped` gauges report it.
public struct EMQXClusterCounts: Sendable, Hashable, Codable {
    /// Nodes the cluster counts as running; `nil` when the body has no such sample. When several nodes report (EMQX 5
    /// `all_nodes_unaggregated`), the largest report.
    public var nodesRunning: Double?
    /// Nodes the cluster knows but counts as stopped; `nil` when unknown. The largest report, as above.
    public var nodesStopped: Double?
    /// `false` when reporting nodes disagree (a partition, or a node that has not yet seen a join or a leave).
    public var isConsistent: Bool

    public init(nodesRunning: Double? = nil, nodesStopped: Double? = nil, isConsistent: Bool = true) {
        self.nodesRunning = nodesRunning
        self.nodesStopped = nodesStopped
        self.isConsistent = isConsistent
    }
}
