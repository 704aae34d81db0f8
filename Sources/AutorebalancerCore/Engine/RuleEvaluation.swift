import Foundation

/// The first gate or condition that held a rule back, with its human text (e.g. `for not yet elapsed: 40s of 120s`).
public struct WhyNot: Sendable, Hashable, Codable, CustomStringConvertible {
    public var reason: BlockReason
    public var detail: String

    public init(_ reason: BlockReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    /// `reason: detail`.
    public var description: String { "\(reason.rawValue): \(detail)" }
}

/// One rule's evaluation on one cluster at one instant: its numbers, state, time left on `for`, why-not and
/// decision. `run --once`, `backtest --explain` and the per-rule metrics read it.
public struct RuleEvaluation: Sendable, Hashable, Codable {
    public var rule: String
    public var trigger: Trigger
    public var action: RuleAction
    /// The rule's state after this evaluation (and, in the agent, after the actuator's confirmation).
    public var state: RuleState
    /// `true` when trigger, minimums and imbalance all hold; `nil` when data was missing or stale.
    public var conditionHolds: Bool?
    /// The connection formula at the rule's detection thresholds (when the rule watches connections and data was
    /// complete).
    public var connections: BalanceEvaluation?
    /// The session formula at the rule's detection thresholds (when the rule watches sessions and they are known).
    public var sessions: BalanceEvaluation?
    /// Time left before `for` elapses, while pending.
    public var forRemaining: TimeInterval?
    /// Why the rule did not act; `nil` when it acted (or alerted).
    public var whyNot: WhyNot?
    /// The rebalance or alert decided at this instant, if any (also in `EngineResult.decisions`); a rebalance that was
    /// not made (failed, not the leader, dry run) is not a decision: its record says `blocked` with the why-not.
    public var decision: DecisionRecord?
    /// The full record of this evaluation: the decision when there is one, else `action: blocked` with the why-not.
    public var record: DecisionRecord
    /// The failed creates of the current firing episode, if any.
    public var retry: CreateRetry?

    public init(
        rule: String,
        trigger: Trigger,
        action: RuleAction,
        state: RuleState,
        conditionHolds: Bool?,
        connections: BalanceEvaluation?,
        sessions: BalanceEvaluation?,
        forRemaining: TimeInterval?,
        whyNot: WhyNot?,
        decision: DecisionRecord?,
        record: DecisionRecord,
        retry: CreateRetry? = nil
    ) {
        self.rule = rule
        self.trigger = trigger
        self.action = action
        self.state = state
        self.conditionHolds = conditionHolds
        self.connections = connections
        self.sessions = sessions
        self.forRemaining = forRemaining
        self.whyNot = whyNot
        self.decision = decision
        self.record = record
        self.retry = retry
    }

    /// One line for `run --once` and logs: `scale-out: pending (for not yet elapsed: 40s of 120s) avg(…)…`.
    public var summary: String {
        var text = "\(rule): \(state.rawValue)"
        if let decision { text += " -> \(decision.action.rawValue)" }
        if let whyNot { text += " (\(whyNot))" }
        if !record.formula.isEmpty { text += " \(record.formula)" }
        return text
    }
}

/// Everything one evaluation of one cluster produced.
public struct EngineResult: Sendable, Hashable, Codable {
    /// Pass to the next evaluation as `previous`.
    public var state: ClusterEngineState
    /// One per rule, in policy order.
    public var evaluations: [RuleEvaluation]
    /// The rebalances (at most one) and alerts decided at this instant.
    public var decisions: [DecisionRecord]

    public init(state: ClusterEngineState, evaluations: [RuleEvaluation], decisions: [DecisionRecord]) {
        self.state = state
        self.evaluations = evaluations
        self.decisions = decisions
    }

    /// The rebalance decided at this instant, if any.
    public var rebalance: DecisionRecord? { decisions.first { $0.action == .rebalance } }

    /// The result as `test` and `backtest` see it: they have no actuator, so a decided rebalance is confirmed at once
    /// (`test` can declare create failures instead, see ``PolicyEngine/confirm(_:_:at:retryPolicy:)``).
    public func confirmedAtOnce() -> EngineResult {
        guard let decided = rebalance else { return self }
        return PolicyEngine.confirm(
            self,
            .confirmed(name: "\(decided.rule)@\(KubernetesTime.format(decided.time))"),
            at: decided.time,
            retryPolicy: .default
        )
    }
}
