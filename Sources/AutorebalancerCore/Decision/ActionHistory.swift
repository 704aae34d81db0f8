import Foundation

/// How a finished rebalance turned out, judged from metrics after it ended (not from the operator's phase alone).
public enum RebalanceOutcome: String, Sendable, Hashable, Codable {
    /// The balance formula holds at the strategy's thresholds.
    case balanced
    /// Not balanced, but the donor/recipient gap shrank markedly.
    case improved
    /// The gap did not shrink: the rebalance did not help.
    case ineffective
    /// EMQX answered `nothing_to_balance`: the cluster was already balanced at the strategy's thresholds.
    case nothingToBalance = "nothing-to-balance"
    /// Failed for another reason (not ready, not found, API error).
    case failed
}

/// One rebalance the cluster shows (ours or created by someone else), as the engine needs it for cooldowns, daily
/// limits and the ineffective-outcome limit. Built from `Rebalance` objects' labels, annotations and status, so a
/// restarted agent rebuilds the same history.
public struct PastRebalance: Sendable, Hashable, Codable {
    public var name: String
    /// `true` when the agent created it (managed-by label).
    public var ours: Bool
    /// The rule that created it, for ours.
    public var rule: String?
    public var trigger: Trigger?
    public var createdAt: Date
    /// When it reached a final phase, if it has.
    public var finishedAt: Date?
    public var phase: RebalancePhase?
    /// The judged outcome, once known.
    public var outcome: RebalanceOutcome?

    public init(
        name: String,
        ours: Bool,
        rule: String? = nil,
        trigger: Trigger? = nil,
        createdAt: Date,
        finishedAt: Date? = nil,
        phase: RebalancePhase? = nil,
        outcome: RebalanceOutcome? = nil
    ) {
        self.name = name
        self.ours = ours
        self.rule = rule
        self.trigger = trigger
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.phase = phase
        self.outcome = outcome
    }

    /// Still running (or created and not yet picked up by the operator).
    public var isActive: Bool { phase == nil || phase == .processing }
}

/// Every rebalance known for one cluster, newest last.
public struct ActionHistory: Sendable, Hashable, Codable {
    public var rebalances: [PastRebalance]
    /// Set when a person reset the ineffective-outcome limit (annotation on the EMQX object, see docs/policy.md):
    /// outcomes before this instant no longer count.
    public var ineffectiveResetAt: Date?

    public init(rebalances: [PastRebalance] = [], ineffectiveResetAt: Date? = nil) {
        self.rebalances = rebalances.sorted { $0.createdAt < $1.createdAt }
        self.ineffectiveResetAt = ineffectiveResetAt
    }

    public static let empty = ActionHistory()
}
