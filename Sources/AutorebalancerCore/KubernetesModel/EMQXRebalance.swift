/// An `autorebalancer.emqx.io/v1alpha1` `EMQXRebalance`: one rebalance through EMQX's own load_rebalance API, and the
/// agent's durable record of it (the CRD is `EMQXRebalanceDefinition`). It carries the same labels, decision
/// annotations and ownerReference as the agent's `Rebalance`s, so history, cooldowns and limits read both alike.
public struct EMQXRebalance: Sendable, Hashable, Codable {
    public static let group = "autorebalancer.emqx.io"
    public static let version = "v1alpha1"
    public static let apiVersion = "\(group)/\(version)"
    public static let kind = "EMQXRebalance"
    public static let resource = "emqxrebalances"
    /// Held while the agent may still have to stop EMQX's rebalance when the object is deleted.
    public static let finalizer = "autorebalancer.emqx.io/stop-rebalance"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: EMQXRebalanceSpec
    public var status: EMQXRebalanceStatus?

    public init(metadata: ObjectMeta, spec: EMQXRebalanceSpec, status: EMQXRebalanceStatus? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct EMQXRebalanceSpec: Sendable, Hashable, Codable {
    /// The EMQX object's name in the record's namespace (or an agent cluster entry's name without one).
    public var cluster: String
    /// An explicit node set; `nil` rebalances the cluster's rebalanced set (replicants if any, else cores).
    public var nodes: [String]?
    /// The same fields as a `Rebalance`'s `rebalanceStrategy`.
    public var strategy: RebalanceStrategy

    public init(cluster: String, nodes: [String]? = nil, strategy: RebalanceStrategy) {
        self.cluster = cluster
        self.nodes = nodes
        self.strategy = strategy
    }
}

/// Where a record stands. `nil` (no status yet) is a record nobody has acted on: a manual run not yet seen.
public enum EMQXRebalancePhase: String, Sendable, Hashable, Codable, CaseIterable {
    /// A manual run waiting for a cluster gate (the reason says which).
    case pending = "Pending"
    /// The agent wrote its intent and asked EMQX to start; EMQX has not yet been seen running it.
    case starting = "Starting"
    /// EMQX confirmed it (`start` answered 200, or `global_status` shows it).
    case running = "Running"
    /// EMQX was seen to have stopped without an abort. The outcome annotation says whether it balanced.
    case completed = "Completed"
    /// Never started, refused, aborted or lost; the reason says which. Never started again: a retry is a new record.
    case failed = "Failed"

    public var isFinal: Bool { self == .completed || self == .failed }
}

public struct EMQXRebalanceStatus: Sendable, Hashable, Codable {
    /// Raw phase string; see `phaseValue`.
    public var phase: String?
    public var reason: String?
    public var coordinator: String?
    /// The node set sent to EMQX.
    public var nodes: [String]?
    public var donors: [String]?
    public var recipients: [String]?
    public var emqxState: String?
    public var connectionEvictionRate: Int?
    public var sessionEvictionRate: Int?
    /// RFC 3339: when the agent asked EMQX to start.
    public var requestedTime: String?
    /// RFC 3339: when EMQX was seen running it.
    public var startedTime: String?
    /// RFC 3339: when EMQX was seen to have stopped (Completed or Failed).
    public var completedTime: String?
    public var observedGeneration: Int64?

    public init(
        phase: EMQXRebalancePhase? = nil,
        reason: String? = nil,
        coordinator: String? = nil,
        nodes: [String]? = nil,
        donors: [String]? = nil,
        recipients: [String]? = nil,
        emqxState: String? = nil,
        connectionEvictionRate: Int? = nil,
        sessionEvictionRate: Int? = nil,
        requestedTime: String? = nil,
        startedTime: String? = nil,
        completedTime: String? = nil,
        observedGeneration: Int64? = nil
    ) {
        self.phase = phase?.rawValue
        self.reason = reason
        self.coordinator = coordinator
        self.nodes = nodes
        self.donors = donors
        self.recipients = recipients
        self.emqxState = emqxState
        self.connectionEvictionRate = connectionEvictionRate
        self.sessionEvictionRate = sessionEvictionRate
        self.requestedTime = requestedTime
        self.startedTime = startedTime
        self.completedTime = completedTime
        self.observedGeneration = observedGeneration
    }

    public var phaseValue: EMQXRebalancePhase? { phase.flatMap(EMQXRebalancePhase.init(rawValue:)) }
}
