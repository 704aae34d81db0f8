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
    /// `POST …/load_rebalance/{node}/start` is carried out, then its answer is lost this way: the crash window
    /// where EMQX has started a rebalance but the caller cannot know.
    public var lostStartAnswer: LostAnswer?

    /// How an answer is lost after the request took effect.
    public enum LostAnswer: Sendable, Hashable {
        /// 500 `INTERNAL_ERROR`.
        case internalError
        /// The connection is closed without an answer.
        case dropConnection
    }

    public init(
        latency: Duration = .zero,
        serverErrors: Bool = false,
        refuseConnections: Bool = false,
        metricsUnresponsive: Bool = false,
        unresponsiveLimit: Duration = .seconds(120),
        lostStartAnswer: LostAnswer? = nil
    ) {
        self.latency = latency
        self.serverErrors = serverErrors
        self.refuseConnections = refuseConnections
        self.metricsUnresponsive = metricsUnresponsive
        self.unresponsiveLimit = unresponsiveLimit
        self.lostStartAnswer = lostStartAnswer
    }

    /// No faults.
    public static let none = NodeFaults()
}
