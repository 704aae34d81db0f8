import Foundation

/// What an actuator really did with a decided rebalance: the input of the rule state machine's `confirm`. Only
/// `confirmed` starts a cooldown or counts toward a limit.
public enum ActionResult: Sendable, Hashable, Codable {
    /// The action happened: the object exists (created now, or found under our deterministic name), or EMQX
    /// confirmed the start. `name` names what was made (the Rebalance, or our own record of the action).
    case confirmed(name: String)
    /// The action was attempted and failed.
    case failed(ActionFailure)
    /// The action was not attempted.
    case notMade(NotMadeReason)
}

/// A failed attempt to act, classified so a why-not, a metric label and an alert can name it.
public struct ActionFailure: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The failure classes; raw values are the `reason` label of `actions_failed_total` and the words of the why-not.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// 403: RBAC does not allow the write.
        case forbidden
        /// 401: the credentials were rejected.
        case unauthorized
        /// 400/422: the object was rejected (a webhook, the schema).
        case invalid
        /// 409 other than our own name existing.
        case conflict
        /// Transport failure, 429 or 5xx.
        case unavailable
        /// No answer in time.
        case timeout
        /// Anything else.
        case other
    }

    public var kind: Kind
    /// The error as the person reading the log needs it (what to fix).
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `forbidden: the agent's service account may not create …`.
    public var description: String { "\(kind.rawValue): \(message)" }
}

/// Why a decided rebalance was not attempted.
public enum NotMadeReason: Sendable, Hashable, Codable {
    /// This replica does not hold the Lease; the leader acts. `wouldCreate` names what it would have made.
    case notLeader(wouldCreate: String?)
    /// Dry run: nothing is written.
    case dryRun(wouldCreate: String?)
    /// Another rebalance blocks it (found when acting, after the engine's gates).
    case blocked(String)
    /// Another rule (or another policy's rule) acts on this cluster in this cycle.
    case otherRule(String)

    /// The why-not a rule shows for it.
    public var whyNot: WhyNot {
        switch self {
        // Without the object's name (it changes with every decision), so a rule held back this way reads the same each cycle.
        case .notLeader:
            WhyNot(.notLeader, "this replica is not the leader; the leader acts")
        case .dryRun:
            WhyNot(.dryRun, "dry run: the rule would act, nothing is written")
        case .blocked(let text):
            WhyNot(.rebalanceRunning, text)
        case .otherRule(let text):
            WhyNot(.otherRuleActing, text)
        }
    }
}

/// An action an actuator confirmed: what cooldowns, the daily limit and "ours in the last 24 h" count.
public struct ConfirmedAction: Sendable, Hashable, Codable {
    public var rule: String
    /// The Rebalance (or record) made.
    public var name: String
    /// When it was confirmed.
    public var at: Date

    public init(rule: String, name: String, at: Date) {
        self.rule = rule
        self.name = name
        self.at = at
    }
}
