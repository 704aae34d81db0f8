import Foundation

/// What a decision does. `blocked` records a rule that wanted to act but was held back.
public enum DecisionAction: String, Sendable, Hashable, Codable {
    case rebalance
    case alert
    case blocked
}

/// Why a rule did not act. Raw values are the stable, kebab-case codes used in JSON, logs and metric labels.
public enum BlockReason: String, Sendable, Hashable, Codable, CaseIterable {
    case paused
    case maintenanceWindow = "maintenance-window"
    case notReady = "not-ready"
    case upgrading
    case evacuating
    case scalingIn = "scaling-in"
    case notEnterprise = "not-enterprise"
    case rebalanceRunning = "rebalance-running"
    case missingData = "missing-data"
    case staleData = "stale-data"
    case belowMinimumConnections = "below-min-connections"
    case belowMinimumNodes = "below-min-nodes"
    case pending
    case cooldown
    case dailyLimit = "daily-limit"
    case ineffectiveLimit = "ineffective-limit"
    case otherRuleActing = "other-rule"
    /// The rule's condition does not hold: the cluster is balanced at the rule's detection thresholds.
    case balanced
    /// The rule's trigger did not happen (no node joined or restarted within the window).
    case notTriggered = "not-triggered"
    /// The last attempt to create the Rebalance failed; the next one waits for its backoff.
    case createFailed = "create-failed"
    /// This replica is not the leader: it reports what it would do, the leader acts.
    case notLeader = "not-leader"
    /// Dry run: the rule would act, nothing is written.
    case dryRun = "dry-run"
    /// The agent cannot rebalance this cluster at all (`ActingMode.alertOnly`, e.g. EMQX Operator 2.1, or 3.0 without
    /// the EMQX-API actuator): the rule alerts once instead.
    case cannotAct = "cannot-act"
    /// The operator's reconciliation of the cluster is paused (3.0: condition `Paused` True).
    case operatorPaused = "operator-paused"
    /// A pod of the cluster is marked `apps.emqx.io/scaling-down` (or terminating), or the pods could not be read.
    case scalingDown = "scaling-down"
    /// A scale-out (by an HPA or by hand) is still starting nodes: the spec wants more nodes of the rebalanced role than
    /// run.
    case waitingForNodes = "waiting-for-nodes"
}

extension BlockReason {
    /// Reasons only a person lifts (`spec.paused`, the ineffective-outcome limit, a cluster the agent cannot act on):
    /// the rule is `suspended`.
    public var suspends: Bool { self == .paused || self == .ineffectiveLimit || self == .cannotAct }

    /// Suspending reasons that send one alert when a rule reaches them (a person must act).
    public var alertsOnce: Bool { self == .ineffectiveLimit || self == .cannotAct }

    /// Reasons that describe the cluster or the agent's mode rather than a gate holding a wanted action back: they
    /// neither count as blocked in metrics nor raise the blocked-too-long alert.
    public var isQuiet: Bool { [.balanced, .notTriggered, .notLeader, .dryRun].contains(self) }
}

/// One decision (or held-back decision) of one rule for one cluster at one instant: the single record type that
/// `backtest`, `test`, `run --once`, the logs and the annotations on created Rebalances all use.
///
/// JSON form (keys are the contract):
/// `{"time":"2026-11-20T10:22:00Z","cluster":"default/emqx-ee","rule":"scale-out","trigger":"scaleOut",
///   "action":"rebalance","donors":[...],"recipients":[...],"connections":{...},"formula":"..."}`
public struct DecisionRecord: Sendable, Hashable, Codable {
    public var time: Date
    /// `namespace/name`.
    public var cluster: String
    public var rule: String
    public var trigger: Trigger
    public var action: DecisionAction
    /// For `blocked`: the machine-readable reason.
    public var reason: BlockReason?
    /// Human text for the why-not, e.g. `for not yet elapsed: 40s of 120s`.
    public var detail: String?
    public var donors: [String]
    public var recipients: [String]
    /// Live connections per node.
    public var connections: [String: Int]
    /// Sessions per node, when known.
    public var sessions: [String: Int]?
    /// EMQX's balance formula with its numbers.
    public var formula: String
    /// For `rebalance`: the strategy to create.
    public var strategy: RebalanceStrategy?
    /// The policy this came from, `name` or `name@version`.
    public var policy: String?
    /// Alert labels and annotations declared by the rule.
    public var labels: [String: String]?
    public var annotations: [String: String]?

    public init(
        time: Date,
        cluster: String,
        rule: String,
        trigger: Trigger,
        action: DecisionAction,
        reason: BlockReason? = nil,
        detail: String? = nil,
        donors: [String] = [],
        recipients: [String] = [],
        connections: [String: Int] = [:],
        sessions: [String: Int]? = nil,
        formula: String = "",
        strategy: RebalanceStrategy? = nil,
        policy: String? = nil,
        labels: [String: String]? = nil,
        annotations: [String: String]? = nil
    ) {
        self.time = time
        self.cluster = cluster
        self.rule = rule
        self.trigger = trigger
        self.action = action
        self.reason = reason
        self.detail = detail
        self.donors = donors
        self.recipients = recipients
        self.connections = connections
        self.sessions = sessions
        self.formula = formula
        self.strategy = strategy
        self.policy = policy
        self.labels = labels
        self.annotations = annotations
    }

    enum CodingKeys: String, CodingKey {
        case time, cluster, rule, trigger, action, reason, detail, donors, recipients, connections, sessions, formula
        case strategy, policy, labels, annotations
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let timeText = try c.decode(String.self, forKey: .time)
        guard let time = KubernetesTime.parse(timeText) else {
            throw DecodingError.dataCorruptedError(
                forKey: .time,
                in: c,
                debugDescription: "not an RFC 3339 time: \(timeText)"
            )
        }
        self.time = time
        cluster = try c.decode(String.self, forKey: .cluster)
        rule = try c.decode(String.self, forKey: .rule)
        trigger = try c.decode(Trigger.self, forKey: .trigger)
        action = try c.decode(DecisionAction.self, forKey: .action)
        reason = try c.decodeIfPresent(BlockReason.self, forKey: .reason)
        detail = try c.decodeIfPresent(String.self, forKey: .detail)
        donors = try c.decodeIfPresent([String].self, forKey: .donors) ?? []
        recipients = try c.decodeIfPresent([String].self, forKey: .recipients) ?? []
        connections = try c.decodeIfPresent([String: Int].self, forKey: .connections) ?? [:]
        sessions = try c.decodeIfPresent([String: Int].self, forKey: .sessions)
        formula = try c.decodeIfPresent(String.self, forKey: .formula) ?? ""
        strategy = try c.decodeIfPresent(RebalanceStrategy.self, forKey: .strategy)
        policy = try c.decodeIfPresent(String.self, forKey: .policy)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
    }

    /// Encodes keys in the documented order, with `time` as RFC 3339 (whole seconds, UTC).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(KubernetesTime.format(time), forKey: .time)
        try c.encode(cluster, forKey: .cluster)
        try c.encode(rule, forKey: .rule)
        try c.encode(trigger, forKey: .trigger)
        try c.encode(action, forKey: .action)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(detail, forKey: .detail)
        try c.encode(donors, forKey: .donors)
        try c.encode(recipients, forKey: .recipients)
        try c.encode(connections, forKey: .connections)
        try c.encodeIfPresent(sessions, forKey: .sessions)
        try c.encode(formula, forKey: .formula)
        try c.encodeIfPresent(strategy, forKey: .strategy)
        try c.encodeIfPresent(policy, forKey: .policy)
        try c.encodeIfPresent(labels, forKey: .labels)
        try c.encodeIfPresent(annotations, forKey: .annotations)
    }

    /// One JSON line with the top-level keys in the documented order and map keys sorted, so output is stable
    /// (Foundation's encoder keeps neither order on Linux).
    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        func json<T: Encodable>(_ value: T) -> String {
            (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        }
        var parts: [String] = []
        func add<T: Encodable>(_ key: CodingKeys, _ value: T?) {
            if let value { parts.append("\"\(key.stringValue)\":\(json(value))") }
        }
        add(.time, KubernetesTime.format(time))
        add(.cluster, cluster)
        add(.rule, rule)
        add(.trigger, trigger)
        add(.action, action)
        add(.reason, reason)
        add(.detail, detail)
        add(.donors, donors)
        add(.recipients, recipients)
        add(.connections, connections)
        add(.sessions, sessions)
        add(.formula, formula)
        add(.strategy, strategy)
        add(.policy, policy)
        add(.labels, labels)
        add(.annotations, annotations)
        return "{" + parts.joined(separator: ",") + "}"
    }
}
