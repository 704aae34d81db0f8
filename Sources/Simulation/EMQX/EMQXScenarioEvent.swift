import AutorebalancerCore

/// Something that happens to the cluster, as in real operations. Every event is deterministic for a given seed.
public enum EMQXScenarioEvent: Sendable, Hashable {
    /// New nodes join with 0 connections (a StatefulSet or replicant scale-out).
    case scaleOut(count: Int = 1, role: NodeRole = .core)
    /// The newest nodes of a role leave the cluster; their clients reconnect through the load balancer.
    case scaleIn(count: Int = 1, role: NodeRole = .core)
    /// The node restarts: its clients reconnect elsewhere, it comes back after `downtime` with 0 connections, counters
    /// and uptime reset. A rebalance it takes part in is aborted; an evacuation resumes.
    case restart(node: String, downtime: Duration = .zero)
    /// The node stops (clients reconnect elsewhere, its HTTP API refuses connections) until `.start`.
    case stop(node: String)
    /// A stopped node starts again with 0 connections.
    case start(node: String)
    /// New clients connect through the load balancer.
    case connect(clients: Int)
    /// Slow organic skew: every second `clientsPerSecond` clients leave other nodes and come back on `node`
    /// (cached DNS, sticky clients), for `duration`.
    case organicSkew(node: String, clientsPerSecond: Int, duration: Duration)
    /// Client churn: every second `clientsPerSecond` randomly chosen clients disconnect and as many new ones connect
    /// through the load balancer, for `duration`. A fraction of leavers keep a persistent session that expires after
    /// `sessionExpiry`.
    case churn(
        clientsPerSecond: Int,
        duration: Duration,
        persistentFraction: Double = 0,
        sessionExpiry: Duration = .seconds(300)
    )
}

/// Why an event could not be applied.
public enum EMQXScenarioError: Error, Sendable, Hashable, CustomStringConvertible {
    case unknownNode(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unknownNode(let node): "no node named \(node) in the simulated cluster"
        case .invalid(let message): message
        }
    }
}
