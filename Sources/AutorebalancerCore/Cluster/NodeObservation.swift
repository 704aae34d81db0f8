import Foundation

/// The role an EMQX node plays. Only one role's nodes are rebalanced: replicants if the cluster has any, else cores.
public enum NodeRole: String, Sendable, Hashable, Codable {
    case core
    case replicant
}

/// What one source said about one EMQX node at one instant.
///
/// Every count is optional: `nil` means *unknown* (the source did not report it), which is never the same as zero.
public struct NodeObservation: Sendable, Hashable, Codable {
    /// The EMQX node name, e.g. `emqx-ee@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local`.
    public var name: String
    /// `nil` when the source does not know (Prometheus and direct scrapes do not say).
    public var role: NodeRole?
    /// `true` when the node reports itself running; `nil` when unknown.
    public var running: Bool?
    /// Currently connected clients (`emqx_live_connections_count`, `live_connections`). EMQX partitions donors and
    /// recipients by this number.
    public var liveConnections: Double?
    /// Channels registered with a connection process (`emqx_connections_count`), including disconnected sessions that
    /// are still held by one.
    public var connections: Double?
    /// All sessions on the node (`emqx_sessions_count`; the `connections` field of the operator's status).
    public var sessions: Double?
    /// When the numbers were true (the scrape time, the Prometheus sample time, or the status refresh time).
    public var observedAt: Date?
    /// Seconds since the node started, where a source knows it (`/api/v5/nodes` `uptime`).
    public var uptimeSeconds: Double?
    /// A monotonic counter that resets when the node restarts (e.g. `emqx_client_connected`), where known.
    public var restartCounter: Double?

    public init(
        name: String,
        role: NodeRole? = nil,
        running: Bool? = nil,
        liveConnections: Double? = nil,
        connections: Double? = nil,
        sessions: Double? = nil,
        observedAt: Date? = nil,
        uptimeSeconds: Double? = nil,
        restartCounter: Double? = nil
    ) {
        self.name = name
        self.role = role
        self.running = running
        self.liveConnections = liveConnections
        self.connections = connections
        self.sessions = sessions
        self.observedAt = observedAt
        self.uptimeSeconds = uptimeSeconds
        self.restartCounter = restartCounter
    }
}
