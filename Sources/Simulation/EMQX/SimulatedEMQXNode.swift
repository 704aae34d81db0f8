import AutorebalancerCore

/// Counters EMQX keeps since the node started; a restart zeroes them (the signal Prometheus `resets()` catches).
public struct SimulatedNodeCounters: Sendable, Hashable {
    /// `emqx_client_connected`: successful CONNECTs.
    public var clientConnected: Int = 0
    /// `emqx_client_disconnected`.
    public var clientDisconnected: Int = 0
    /// `emqx_session_created`.
    public var sessionCreated: Int = 0
    /// `emqx_session_resumed`.
    public var sessionResumed: Int = 0
    /// `emqx_session_takenover` (`takeovered` on 4.4): sessions taken over by a client reconnecting elsewhere.
    public var sessionTakenover: Int = 0
    /// `emqx_session_discarded`.
    public var sessionDiscarded: Int = 0
    /// `emqx_session_terminated`.
    public var sessionTerminated: Int = 0
    /// Connections kicked by the eviction agent (counted in `emqx_client_disconnected_reason{reason="kicked"}`).
    public var evicted: Int = 0
    /// PUBLISH messages received from clients (each client publishes about once a second).
    public var messagesReceived: Int = 0
    /// Messages delivered to subscribers.
    public var messagesSent: Int = 0

    public init() {}
}

/// Whether a node's eviction agent is enabled, and by what. An enabled agent makes `availability_check` answer 503.
public enum EvictionAgentState: Sendable, Hashable {
    case rebalance(coordinator: String, allowConnections: Bool)
    case evacuation(allowConnections: Bool)

    public var allowsConnections: Bool {
        switch self {
        case .rebalance(_, let allow), .evacuation(let allow): allow
        }
    }
}

/// One simulated EMQX node.
public struct SimulatedEMQXNode: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case running
        case stopped
    }

    /// The EMQX node name (`emqx-ee@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local`, `emqx@10.244.1.7`).
    public var name: String
    public var role: NodeRole
    /// The pod that runs the node.
    public var podName: String
    public var podIP: String
    /// Position in the StatefulSet (cores) or creation order (replicants).
    public var ordinal: Int
    public var status: Status
    /// Simulated instant (offset from the simulation's origin) the node last started; negative when it started before.
    public var startedAt: Duration
    /// Connected clients, each holding its session here.
    public var liveConnections: Int
    /// Persistent sessions whose clients are offline.
    public var disconnectedSessions: Int
    /// High-water marks since start (`emqx_*_max`).
    public var liveConnectionsMax: Int
    public var sessionsMax: Int
    public var counters: SimulatedNodeCounters
    /// `nil` when the eviction agent is disabled.
    public var evictionAgent: EvictionAgentState?
    /// The Kubernetes side's view of the pod's readiness, when a Kubernetes simulation drives it; `nil` lets the load
    /// balancer follow `availability_check` directly.
    public var serviceReadiness: Bool?

    /// All sessions on the node (`emqx_sessions_count`, `connections` of `/api/v5/nodes`).
    public var sessions: Int { liveConnections + disconnectedSessions }
    /// Channels registered with a connection process (`emqx_connections_count`): live clients plus the persistent
    /// sessions their connection processes still hold.
    public var connections: Int { liveConnections + disconnectedSessions }
    public var isRunning: Bool { status == .running }
    /// `availability_check` answers 200 only when the node runs and its eviction agent is disabled.
    public var isAvailable: Bool { isRunning && evictionAgent == nil }
    /// Whether the node accepts a new MQTT connection.
    public var acceptsConnections: Bool { isRunning && (evictionAgent?.allowsConnections ?? true) }
    /// Whether the node is an endpoint of the listener Service, so the load balancer may send clients to it.
    public var inService: Bool { isRunning && (serviceReadiness ?? isAvailable) }

    /// Uptime at the simulated instant `now`; `nil` when stopped.
    public func uptime(at now: Duration) -> Duration? {
        isRunning ? max(.zero, now - startedAt) : nil
    }

    mutating func noteHighWater() {
        liveConnectionsMax = max(liveConnectionsMax, liveConnections)
        sessionsMax = max(sessionsMax, sessions)
    }
}
