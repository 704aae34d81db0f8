import Foundation

/// One rule on one cluster as a state machine value: each case carries what that state needs. `step` moves it on an
/// evaluation, `confirm` on what the actuator really did (RuleInstance+StateMachine.swift).
public enum RuleInstance: Sendable, Hashable, Codable {
    case inactive
    /// The condition has held since `since`, for less than `for`.
    case pending(since: Date)
    /// The condition has held since `since` for at least `for`. `alerted`: this episode's alert was emitted.
    /// `retry`: the creates that failed in this episode and when the next may be made.
    case firing(since: Date, alerted: Bool, retry: CreateRetry?)
    /// A rebalance was decided at `decidedAt` and waits for the actuator's confirmation.
    case creating(since: Date, decidedAt: Date, retry: CreateRetry?)
    /// The actuator confirmed `action` (at this evaluation).
    case acted(ConfirmedAction)
    /// In the cooldown after this rule's own confirmed rebalance; `since` is when the condition began to hold
    /// again (`for` keeps counting), `nil` while it does not.
    case coolingDown(since: Date?)
    /// Held back by the pause or the ineffective-outcome limit since the condition began to hold at `since`.
    case suspended(since: Date, alerted: Bool)

    /// The state's name in the one vocabulary.
    public var state: RuleState {
        switch self {
        case .inactive: .inactive
        case .pending: .pending
        case .firing: .firing
        case .creating: .creating
        case .acted: .acted
        case .coolingDown: .coolingDown
        case .suspended: .suspended
        }
    }

    /// Since when the condition has held without interruption, if it holds.
    public var conditionSince: Date? {
        switch self {
        case .inactive, .acted: nil
        case .pending(let since), .firing(let since, _, _), .creating(let since, _, _), .suspended(let since, _): since
        case .coolingDown(let since): since
        }
    }

    /// The failed creates of the current episode, if any.
    public var retry: CreateRetry? {
        switch self {
        case .firing(_, _, let retry), .creating(_, _, let retry): retry
        default: nil
        }
    }

    /// This episode's alert was emitted.
    var alerted: Bool {
        switch self {
        case .firing(_, let alerted, _), .suspended(_, let alerted): alerted
        default: false
        }
    }
}

/// The creates that failed in a row while a rule kept firing, and when the next attempt may be made. Kept only while
/// the condition holds: a new episode starts without it. Failures never start a cooldown nor count toward a limit.
public struct CreateRetry: Sendable, Hashable, Codable {
    /// Failed attempts in a row.
    public var failures: Int
    public var lastFailure: ActionFailure
    public var lastAttemptAt: Date
    /// No new attempt before this instant.
    public var notBefore: Date
    /// `failures` reached the policy's escalation count: an Event and an alert say so.
    public var escalated: Bool

    public init(failures: Int, lastFailure: ActionFailure, lastAttemptAt: Date, notBefore: Date, escalated: Bool) {
        self.failures = failures
        self.lastFailure = lastFailure
        self.lastAttemptAt = lastAttemptAt
        self.notBefore = notBefore
        self.escalated = escalated
    }
}

/// How a failed create is retried: after `initialBackoff`, doubling per failure up to `maximumBackoff`, for as long
/// as the rule keeps firing; after `escalateAfter` failures in a row an Event and an alert are raised.
public struct CreateRetryPolicy: Sendable, Hashable, Codable {
    /// Delay after the first failure. Default 30 s.
    public var initialBackoff: TimeInterval
    /// Upper bound of the delay. Default 10 min.
    public var maximumBackoff: TimeInterval
    /// Failures in a row that raise an Event and an alert. Default 3.
    public var escalateAfter: Int

    public init(initialBackoff: TimeInterval = 30, maximumBackoff: TimeInterval = 600, escalateAfter: Int = 3) {
        self.initialBackoff = max(0, initialBackoff)
        self.maximumBackoff = max(self.initialBackoff, maximumBackoff)
        self.escalateAfter = max(1, escalateAfter)
    }

    public static let `default` = CreateRetryPolicy()

    /// The delay before the next attempt after `failures` failures in a row (1, 2, …): `initial × 2^(failures-1)`,
    /// capped.
    public func backoff(afterFailures failures: Int) -> TimeInterval {
        let doublings = failures <= 1 ? 0 : min(failures - 1, 30)
        return min(initialBackoff * Double(1 << doublings), maximumBackoff)
    }
}
