import Foundation

/// What a rule does when it fires.
public enum RuleAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// Create a `Rebalance` (every safety gate permitting).
    case rebalance
    /// Only send an alert; never create a `Rebalance`.
    case alert
}

/// One validated rule of a policy.
public struct Rule: Sendable, Hashable, Codable {
    /// DNS label (≤ 63 characters): it goes into labels and object names.
    public var name: String
    public var description: String?
    public var trigger: Trigger
    /// `scaleOut`/`restart`: how recently the node must have joined or restarted (default 10m).
    public var triggerWindow: TimeInterval
    /// `restart`: live connections at or below this count as "near zero" when no uptime is known (default 10).
    public var nearZeroConnections: Double
    /// Detection thresholds for live connections (EMQX's semantics); `nil` when the rule ignores connections.
    public var connections: BalanceThreshold?
    /// Detection thresholds for sessions; `nil` when the rule ignores sessions.
    public var sessions: BalanceThreshold?
    /// The condition must hold continuously this long before the rule fires (`for`).
    public var forDuration: TimeInterval
    /// No rebalance from this rule within this long after any rebalance on the cluster ended (manual ones included).
    public var cooldown: TimeInterval
    /// The rule stays inactive below this many live connections in the rebalanced node set.
    public var minConnections: Int
    /// The rule stays inactive with fewer nodes than this in the rebalanced node set.
    public var minNodes: Int
    public var action: RuleAction
    /// The `spec.rebalanceStrategy` to create; the planner resolves `auto` evict rates.
    public var strategy: StrategyTemplate
    /// Labels and annotations attached to alerts and decision records.
    public var labels: [String: String]
    public var annotations: [String: String]
    /// Higher acts first when several rules fire on one cluster at once; ties go to file order.
    public var priority: Int
    /// `scaleOut`/`restart` rules may act inside maintenance windows.
    public var bypassMaintenance: Bool

    public init(
        name: String,
        description: String? = nil,
        trigger: Trigger,
        triggerWindow: TimeInterval = Defaults.triggerWindow,
        nearZeroConnections: Double = Defaults.nearZeroConnections,
        connections: BalanceThreshold? = nil,
        sessions: BalanceThreshold? = nil,
        forDuration: TimeInterval = Defaults.forDuration,
        cooldown: TimeInterval = Defaults.cooldown,
        minConnections: Int = 0,
        minNodes: Int = Defaults.minNodes,
        action: RuleAction = .rebalance,
        strategy: StrategyTemplate = StrategyTemplate(),
        labels: [String: String] = [:],
        annotations: [String: String] = [:],
        priority: Int = 0,
        bypassMaintenance: Bool = false
    ) {
        self.name = name
        self.description = description
        self.trigger = trigger
        self.triggerWindow = triggerWindow
        self.nearZeroConnections = nearZeroConnections
        self.connections = connections
        self.sessions = sessions
        self.forDuration = forDuration
        self.cooldown = cooldown
        self.minConnections = minConnections
        self.minNodes = minNodes
        self.action = action
        self.strategy = strategy
        self.labels = labels
        self.annotations = annotations
        self.priority = priority
        self.bypassMaintenance = bypassMaintenance
    }

    public enum Defaults {
        public static let triggerWindow: TimeInterval = 600
        public static let nearZeroConnections: Double = 10
        public static let forDuration: TimeInterval = 60
        public static let cooldown: TimeInterval = 900
        public static let minNodes = 2
    }
}

/// How many connections per second each donor evicts.
public enum EvictRate: Sendable, Hashable, Codable {
    /// A fixed rate (≥ 1).
    case fixed(Int)
    /// `ceil(max excess per donor / targetDuration)`, clamped to `[minimum, maximum]`.
    case auto(targetDuration: TimeInterval, minimum: Int, maximum: Int)

    public static let defaultAutoMinimum = 10
    public static let defaultAutoMaximum = 1000
}

/// The rule's `rebalanceStrategy`: every field of the CRD's, with `connEvictRate` possibly `auto` (resolved per
/// decision). `nil` fields are left out of the created `Rebalance` so the CRD default applies.
public typealias StrategyTemplate = RebalanceStrategyFields<EvictRate>

extension RebalanceStrategyFields where Rate == EvictRate {
    /// EMQX's own default eviction rate when the rule names none.
    public static var defaultConnEvictRate: Int { 500 }

    /// A rule's strategy when it names none: EMQX's default rate, the CRD's defaults for the rest.
    public init() {
        self.init(connEvictRate: .fixed(Self.defaultConnEvictRate))
    }

    /// The strategy a Rebalance carries, with `rate` as the connection evict rate.
    public func resolved(connEvictRate rate: Int) -> RebalanceStrategy {
        withConnEvictRate(rate)
    }
}
