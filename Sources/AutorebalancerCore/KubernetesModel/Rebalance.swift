/// An `apps.emqx.io/v2beta1` `Rebalance` custom resource.
public struct Rebalance: Sendable, Hashable, Codable {
    public static let apiVersion = "apps.emqx.io/v2beta1"
    public static let kind = "Rebalance"
    public static let resource = "rebalances"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: RebalanceSpec
    public var status: RebalanceStatus?

    public init(metadata: ObjectMeta, spec: RebalanceSpec, status: RebalanceStatus? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// The phase the operator writes. Empty or missing means not started yet.
public enum RebalancePhase: String, Sendable, Hashable, Codable {
    case processing = "Processing"
    case completed = "Completed"
    case failed = "Failed"

    /// `Completed` and `Failed` are final: the operator never leaves them (a retry is a new resource).
    public var isFinal: Bool { self != .processing }
}

/// `status` of a `Rebalance`, as the operator writes it.
public struct RebalanceStatus: Sendable, Hashable, Codable {
    /// Raw phase string; see `phaseValue`.
    public var phase: String?
    /// Newest first. `Failed` conditions carry the error text in `message`.
    public var conditions: [StatusCondition]?
    public var rebalanceStates: [RebalanceState]?
    public var startedTime: String?
    public var completedTime: String?

    public init(
        phase: RebalancePhase? = nil,
        conditions: [StatusCondition]? = nil,
        rebalanceStates: [RebalanceState]? = nil,
        startedTime: String? = nil,
        completedTime: String? = nil
    ) {
        self.phase = phase?.rawValue
        self.conditions = conditions
        self.rebalanceStates = rebalanceStates
        self.startedTime = startedTime
        self.completedTime = completedTime
    }

    public var phaseValue: RebalancePhase? { phase.flatMap(RebalancePhase.init(rawValue:)) }

    /// The message of the `Failed` condition, if any.
    public var failureMessage: String? { conditions?.condition("Failed")?.message }
}

/// One entry of `status.rebalanceStates` (snake_case, copied from EMQX's `global_status`).
public struct RebalanceState: Sendable, Hashable, Codable {
    public var state: String?
    public var sessionEvictionRate: Int?
    public var recipients: [String]?
    public var node: String?
    public var donors: [String]?
    public var coordinatorNode: String?
    public var connectionEvictionRate: Int?

    public init(
        state: String? = nil,
        sessionEvictionRate: Int? = nil,
        recipients: [String]? = nil,
        node: String? = nil,
        donors: [String]? = nil,
        coordinatorNode: String? = nil,
        connectionEvictionRate: Int? = nil
    ) {
        self.state = state
        self.sessionEvictionRate = sessionEvictionRate
        self.recipients = recipients
        self.node = node
        self.donors = donors
        self.coordinatorNode = coordinatorNode
        self.connectionEvictionRate = connectionEvictionRate
    }

    enum CodingKeys: String, CodingKey {
        case state
        case sessionEvictionRate = "session_eviction_rate"
        case recipients
        case node
        case donors
        case coordinatorNode = "coordinator_node"
        case connectionEvictionRate = "connection_eviction_rate"
    }
}
