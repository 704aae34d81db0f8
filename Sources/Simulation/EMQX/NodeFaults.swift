/// Faults switched on for one simulated node's HTTP API. They affect only what the node's API answers; the node keeps
/// serving MQTT clients unless an event stops it.
public struct NodeFaults: Sendable, Hashable {
    /// Added before every answer (wall-clock time: it is network latency).
    public var latency: Duration
    /// Every request answers 500.
    public var serverErrors: Bool
    /// The HTTP server is stopped: connections are refused.
    public var refuseConnections: Bool
    /// Metric requests (`/api/v5/prometheus/stats`, `/api/v4/emqx_prometheus`) get no answer until the fault is
    /// cleared or `unresponsiveLimit` passes (then 503), while everything else keeps working.
    public var metricsUnresponsive: Bool
    public var unresponsiveLimit: Duration

    public init(
        latency: Duration = .zero,
        serverErrors: Bool = false,
        refuseConnections: Bool = false,
        metricsUnresponsive: Bool = false,
        unresponsiveLimit: Duration = .seconds(120)
    ) {
        self.latency = latency
        self.serverErrors = serverErrors
        self.refuseConnections = refuseConnections
        self.metricsUnresponsive = metricsUnresponsive
        self.unresponsiveLimit = unresponsiveLimit
    }

    /// No faults.
    public static let none = NodeFaults()
}
