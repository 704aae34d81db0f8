/// The one vocabulary of rule states, listed once: the engine, the `state` label of `rule_state`, `run --once`,
/// `test`, the logs, the docs and the dashboards all use these names.
///
/// `inactive → pending → firing → creating → acted → cooling-down`, and `suspended` while only a person can lift what
/// holds the rule back.
public enum RuleState: String, Sendable, Hashable, Codable, CaseIterable {
    /// The condition does not hold (or cannot be evaluated).
    case inactive
    /// The condition holds, but not yet for the rule's `for`.
    case pending
    /// The condition has held for `for`: an alert rule alerts; a rebalance rule wants to act and a gate, the backoff
    /// after a failed create, leadership or dry run holds it back.
    case firing
    /// A rebalance was decided and the actuator has not confirmed it (yet).
    case creating
    /// The actuator confirmed the rebalance at this evaluation.
    case acted
    /// The cluster is in the cooldown that followed this rule's own confirmed rebalance.
    case coolingDown = "cooling-down"
    /// Firing, but held back by what only a person lifts: the policy is paused, or the ineffective-outcome limit.
    case suspended

    /// Names earlier releases used (the metrics' `acting` and `cooldown`), still accepted in policy test files.
    public static let aliases: [String: RuleState] = ["acting": .acted, "cooldown": .coolingDown]

    /// A state by its name or one of its ``aliases``.
    public init?(name: String) {
        guard let state = RuleState(rawValue: name) ?? Self.aliases[name] else { return nil }
        self = state
    }
}
