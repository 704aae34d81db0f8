import Foundation

/// Drives the engine over a sequence of snapshots of one cluster (`backtest`, simulations, `run --once` loops): keeps
/// the state between evaluations and records the rebalances it decides as the agent's own in its `ActionHistory`, so
/// running rebalances, cooldowns and the daily limit apply exactly as in a live cluster.
public struct EngineReplay: Sendable {
    public private(set) var policy: Policy
    /// The engine state after the last evaluation (`nil` before the first).
    public private(set) var state: ClusterEngineState?
    /// Rebalances the cluster had before the replay (manual or the agent's own).
    public var baseHistory: ActionHistory
    /// How long a decided rebalance is assumed to run before it completes.
    public var assumedDuration: TimeInterval
    /// The outcome recorded for a decided rebalance once it completes (`nil`: not judged).
    public var assumedOutcome: RebalanceOutcome?
    /// The rebalances decided so far, with the time they complete.
    public private(set) var decided: [(rebalance: PastRebalance, completesAt: Date)] = []

    public init(
        policy: Policy,
        history: ActionHistory = .empty,
        assumedDuration: TimeInterval = 60,
        assumedOutcome: RebalanceOutcome? = nil
    ) {
        self.policy = policy
        self.baseHistory = history
        self.assumedDuration = assumedDuration
        self.assumedOutcome = assumedOutcome
    }

    /// The history as the cluster would show it at `now`.
    public func history(at now: Date) -> ActionHistory {
        let ours = decided.filter { $0.rebalance.createdAt <= now }.map { entry -> PastRebalance in
            var past = entry.rebalance
            if entry.completesAt <= now {
                past.finishedAt = entry.completesAt
                past.phase = .completed
                past.outcome = assumedOutcome
            }
            return past
        }
        return ActionHistory(
            rebalances: baseHistory.rebalances + ours,
            ineffectiveResetAt: baseHistory.ineffectiveResetAt
        )
    }

    /// Evaluates the policy on `snapshot` at `snapshot.takenAt` and records a decided rebalance, confirmed at once
    /// (a replay has no actuator).
    public mutating func evaluate(_ snapshot: ClusterSnapshot) -> EngineResult {
        let now = snapshot.takenAt
        let result = PolicyEngine.evaluate(
            policy,
            snapshot: snapshot,
            history: history(at: now),
            at: now,
            previous: state
        )
        .confirmedAtOnce()
        state = result.state
        if let rebalance = result.rebalance {
            let past = PastRebalance(
                name: "\(snapshot.cluster.name)-\(rebalance.rule)-\(decided.count + 1)",
                ours: true,
                rule: rebalance.rule,
                trigger: rebalance.trigger,
                createdAt: now,
                phase: .processing
            )
            decided.append((past, now.addingTimeInterval(assumedDuration)))
        }
        return result
    }

    /// Switches to `newPolicy`, keeping the state of unchanged rules.
    public mutating func reload(_ newPolicy: Policy) {
        state = state?.carryingOver(from: policy, to: newPolicy)
        policy = newPolicy
    }
}

/// Annotation keys on the EMQX custom resource that people use to talk to the agent.
public enum PolicyAnnotations {
    /// RFC 3339 time of a person's reset of the ineffective-outcome limit; read into `ActionHistory.ineffectiveResetAt`.
    public static let resetIneffective = "autorebalancer.emqx.io/reset-ineffective"
}
