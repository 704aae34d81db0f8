import Foundation

/// What the engine remembers about one node between evaluations, to recognise scale-outs and restarts.
public struct NodeMemory: Sendable, Hashable, Codable {
    /// When the node joined the rebalanced node set; `nil` when it was already there when the engine started.
    public var joinedAt: Date?
    /// When the node last restarted (uptime reset, counter reset, reappearance, or a fall to near zero).
    public var restartedAt: Date?
    /// The last evaluation at which the node had a fresh sample.
    public var lastSeenAt: Date?
    public var lastUptime: Double?
    public var lastRestartCounter: Double?
    public var lastLiveConnections: Double?
    /// Seen before, without a fresh sample now.
    public var vanished: Bool

    public init(
        joinedAt: Date? = nil,
        restartedAt: Date? = nil,
        lastSeenAt: Date? = nil,
        lastUptime: Double? = nil,
        lastRestartCounter: Double? = nil,
        lastLiveConnections: Double? = nil,
        vanished: Bool = false
    ) {
        self.joinedAt = joinedAt
        self.restartedAt = restartedAt
        self.lastSeenAt = lastSeenAt
        self.lastUptime = lastUptime
        self.lastRestartCounter = lastRestartCounter
        self.lastLiveConnections = lastLiveConnections
        self.vanished = vanished
    }
}

/// The engine's whole memory for one cluster. Pass the previous value to the next `PolicyEngine.evaluate`; `nil`
/// (a fresh or restarted agent) is rebuilt from the snapshot and the `ActionHistory` the cluster shows.
public struct ClusterEngineState: Sendable, Hashable, Codable {
    public var cluster: ClusterReference
    /// Per rule name.
    public var rules: [String: RuleInstance]
    /// Per node name.
    public var nodes: [String: NodeMemory]
    public var lastEvaluatedAt: Date?
    /// Rebalances the actuator confirmed for this policy (kept 24 h), so cooldowns and the daily limit hold before
    /// the `ActionHistory` shows the created objects. Decided-but-unconfirmed actions are never here.
    public var confirmed: [ConfirmedAction]

    public init(
        cluster: ClusterReference,
        rules: [String: RuleInstance] = [:],
        nodes: [String: NodeMemory] = [:],
        lastEvaluatedAt: Date? = nil,
        confirmed: [ConfirmedAction] = []
    ) {
        self.cluster = cluster
        self.rules = rules
        self.nodes = nodes
        self.lastEvaluatedAt = lastEvaluatedAt
        self.confirmed = confirmed
    }

    /// The state to keep across a policy reload: rules whose definition did not change keep their state (pending
    /// time, alert episodes, create backoff); changed, renamed and removed rules start over. Node memory and
    /// confirmed actions are cluster facts and are always kept.
    public func carryingOver(from old: Policy, to new: Policy) -> ClusterEngineState {
        var copy = self
        copy.rules = [:]
        for rule in new.rules {
            guard let previous = rules[rule.name], let oldRule = old.rule(named: rule.name), oldRule == rule else {
                continue
            }
            copy.rules[rule.name] = previous
        }
        return copy
    }
}
