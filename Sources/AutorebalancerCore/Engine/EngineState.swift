import Foundation

/// Where one rule stands on one cluster: `inactive → pending → firing → acted → coolingDown`.
public enum RulePhase: String, Sendable, Hashable, Codable, CaseIterable {
    /// The condition does not hold (or cannot be evaluated).
    case inactive
    /// The condition holds, but not yet for the rule's `for`.
    case pending
    /// The condition has held for `for`; an alert rule alerts, a rebalance rule is held back by a gate.
    case firing
    /// The rule created its decision at this evaluation.
    case acted
    /// The cluster is in the cooldown that followed this rule's own rebalance.
    case coolingDown = "cooling-down"
}

/// The state machine of one rule on one cluster, as a value.
public struct RuleState: Sendable, Hashable, Codable {
    public var phase: RulePhase
    /// Since when the condition has held without interruption (the start of `pending`).
    public var activeSince: Date?
    /// When this rule last decided a rebalance on this cluster.
    public var lastActedAt: Date?
    /// An alert has been emitted for the current firing episode (alert rules, ineffective-limit alerts).
    public var alertSent: Bool

    public init(phase: RulePhase = .inactive, activeSince: Date? = nil, lastActedAt: Date? = nil, alertSent: Bool = false) {
        self.phase = phase
        self.activeSince = activeSince
        self.lastActedAt = lastActedAt
        self.alertSent = alertSent
    }
}

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
    public var rules: [String: RuleState]
    /// Per node name.
    public var nodes: [String: NodeMemory]
    public var lastEvaluatedAt: Date?
    /// Rebalances this engine decided (kept 24 h), so cooldowns and daily limits hold before `ActionHistory` shows
    /// the created objects.
    public var recentActions: [Date]

    public init(
        cluster: ClusterReference,
        rules: [String: RuleState] = [:],
        nodes: [String: NodeMemory] = [:],
        lastEvaluatedAt: Date? = nil,
        recentActions: [Date] = []
    ) {
        self.cluster = cluster
        self.rules = rules
        self.nodes = nodes
        self.lastEvaluatedAt = lastEvaluatedAt
        self.recentActions = recentActions
    }

    /// The state to keep across a policy reload: rules whose definition did not change keep their state (pending
    /// time, alert episodes); changed, renamed and removed rules start over. Node memory and recent actions are
    /// cluster facts and are always kept.
    public func carryingOver(from old: Policy, to new: Policy) -> ClusterEngineState {
        var copy = self
        copy.rules = [:]
        for rule in new.rules {
            guard let previous = rules[rule.name], let oldRule = old.rule(named: rule.name), oldRule == rule else { continue }
            copy.rules[rule.name] = previous
        }
        return copy
    }
}
