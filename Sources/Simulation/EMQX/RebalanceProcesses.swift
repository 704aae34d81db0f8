/// A running rebalance, held by its coordinator node (EMQX's `emqx_node_rebalance` gen_statem data).
public struct RebalanceProcess: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        case waitHealthCheck = "wait_health_check"
        case evictingConns = "evicting_conns"
        case waitTakeover = "wait_takeover"
        case evictingSessions = "evicting_sessions"
    }

    public var coordinator: String
    public var state: State
    public var options: RebalanceOptions
    /// Fixed at start: nodes with live connections ≥ the average.
    public var donors: [String]
    /// Fixed at start: the other nodes.
    public var recipients: [String]
    public var initialConnections: [String: Int]
    public var initialSessions: [String: Int]
    /// Set by the first eviction check (EMQX's `recipient_conn_avg`, reported as `connection_goal`).
    public var recipientConnectionAverage: Double?
    public var donorConnectionAverage: Double?
    public var recipientSessionAverage: Double?
    public var donorSessionAverage: Double?
    /// Simulated instant of the next state timeout.
    public var deadline: Duration
    public var startedAt: Duration
    /// Eviction rounds performed in `evicting_conns`.
    public var connectionEvictionRounds: Int = 0
    public var sessionEvictionRounds: Int = 0

    /// Every node taking part (coordinator, donors, recipients).
    public var participants: Set<String> { Set(donors + recipients + [coordinator]) }
}

/// A node evacuation (`emqx_node_rebalance_evacuation`), local to the evacuated node.
public struct EvacuationProcess: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        case waitingHealthCheck = "waiting_health_check"
        case evictingConns = "evicting_conns"
        case waitingTakeover = "waiting_takeover"
        case evictingSessions = "evicting_sessions"
        /// Done evicting; the node keeps refusing connections until the evacuation is stopped.
        case prohibiting
    }

    public var node: String
    public var state: State
    public var options: EvacuationOptions
    public var initialConnections: Int
    public var currentConnections: Int
    public var initialSessions: Int
    public var currentSessions: Int
    public var deadline: Duration?
}

/// A finished or aborted rebalance, kept for tests and the demo's report.
public struct RebalanceOutcome: Sendable, Hashable {
    public enum Ending: String, Sendable, Hashable {
        case completed
        case stopped
        /// A participating node stopped or restarted.
        case aborted
    }

    public var coordinator: String
    public var donors: [String]
    public var recipients: [String]
    public var ending: Ending
    public var startedAt: Duration
    public var endedAt: Duration
    public var connectionEvictionRounds: Int
    public var sessionEvictionRounds: Int
}
