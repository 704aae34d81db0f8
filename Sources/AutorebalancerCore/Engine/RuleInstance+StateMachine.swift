import Foundation

/// What one rule observed at one evaluation, already reduced to what its state machine needs.
public struct RuleObservation: Sendable, Hashable {
    /// Why the condition (data, trigger, minimums, imbalance) does not hold; `nil` when it holds.
    public var conditionFails: WhyNot?
    /// The first closed gate for this rule (rebalance rules; `nil` when every gate is open).
    public var gate: WhyNot?
    /// The cooldown after this rule's own confirmed rebalance is running.
    public var ownCooldown: Bool

    public init(conditionFails: WhyNot?, gate: WhyNot?, ownCooldown: Bool) {
        self.conditionFails = conditionFails
        self.gate = gate
        self.ownCooldown = ownCooldown
    }
}

extension RuleInstance {
    /// What the owner of a rule's state has to do after a step.
    public enum Action: Sendable, Hashable {
        case none
        /// Emit this episode's alert: an alert rule started firing, or a rebalance rule was suspended by the
        /// ineffective-outcome limit (`whyNot` set).
        case alert
        /// The rule passed every gate and wants to rebalance; at most one per cluster is chosen (the others are
        /// confirmed `notMade(.otherRule)`), then the actuator acts and its result is `confirm`ed.
        case rebalance
    }

    /// One step's result: the next state, the action, and the explanation.
    public struct Transition: Sendable, Hashable {
        public var next: RuleInstance
        public var action: Action
        /// Why the rule did not act (or is not firing); `nil` when it acts or alerts without a gate.
        public var whyNot: WhyNot?
        /// Time left on `for`, while it counts.
        public var forRemaining: TimeInterval?
    }

    /// Moves the rule on one evaluation. Pure: the instant, the rule and what was observed are parameters.
    public func step(rule: Rule, observation: RuleObservation, at now: Date) -> Transition {
        if let fails = observation.conditionFails {
            return Transition(
                next: observation.ownCooldown ? .coolingDown(since: nil) : .inactive,
                action: .none,
                whyNot: fails
            )
        }
        let since = conditionSince ?? now
        let elapsed = now.timeIntervalSince(since)
        let forRemaining = elapsed < rule.forDuration ? rule.forDuration - elapsed : nil
        let gate = rule.action == .rebalance ? observation.gate : nil

        // Right after acting: the cooldown (or the running rebalance) is the news; `for` keeps counting.
        if observation.ownCooldown, let gate, !gate.reason.suspends {
            return Transition(next: .coolingDown(since: since), action: .none, whyNot: gate, forRemaining: forRemaining)
        }
        if let forRemaining {
            let text =
                "for not yet elapsed: \(DurationText.format(elapsed)) of \(DurationText.format(rule.forDuration))"
            return Transition(
                next: .pending(since: since),
                action: .none,
                whyNot: WhyNot(.pending, text),
                forRemaining: forRemaining
            )
        }
        if rule.action == .alert {
            return Transition(
                next: .firing(since: since, alerted: true, retry: nil),
                action: alerted ? .none : .alert,
                whyNot: nil
            )
        }
        if let gate, gate.reason.suspends {
            let alert = gate.reason.alertsOnce && !alerted
            return Transition(
                next: .suspended(since: since, alerted: alerted || alert),
                action: alert ? .alert : .none,
                whyNot: gate
            )
        }
        if let gate {
            return Transition(next: .firing(since: since, alerted: alerted, retry: retry), action: .none, whyNot: gate)
        }
        if let retry, now < retry.notBefore {
            let text =
                "\(retry.lastFailure) (\(retry.failures) failed attempt(s) in a row; next attempt at \(KubernetesTime.format(retry.notBefore)))"
            return Transition(
                next: .firing(since: since, alerted: alerted, retry: retry),
                action: .none,
                whyNot: WhyNot(.createFailed, text)
            )
        }
        return Transition(next: .creating(since: since, decidedAt: now, retry: retry), action: .rebalance, whyNot: nil)
    }

    /// Takes what the actuator really did with the rebalance decided in `creating`. Pure. Only `confirmed` leads to
    /// `acted`; a failure goes back to `firing` with a grown backoff; an action not made goes back to `firing` as is.
    /// - Returns: the next state and the rule's why-not (`nil` when confirmed).
    public func confirm(
        _ result: ActionResult,
        rule: String,
        at now: Date,
        retryPolicy: CreateRetryPolicy
    ) -> (next: RuleInstance, whyNot: WhyNot?) {
        guard case .creating(let since, _, let retry) = self else { return (self, nil) }
        switch result {
        case .confirmed(let name):
            return (.acted(ConfirmedAction(rule: rule, name: name, at: now)), nil)
        case .failed(let failure):
            let failures = (retry?.failures ?? 0) + 1
            let next = CreateRetry(
                failures: failures,
                lastFailure: failure,
                lastAttemptAt: now,
                notBefore: now.addingTimeInterval(retryPolicy.backoff(afterFailures: failures)),
                escalated: failures >= retryPolicy.escalateAfter
            )
            let text =
                "\(failure) (\(failures) failed attempt(s) in a row; next attempt at \(KubernetesTime.format(next.notBefore)))"
            return (.firing(since: since, alerted: false, retry: next), WhyNot(.createFailed, text))
        case .notMade(let reason):
            return (.firing(since: since, alerted: false, retry: retry), reason.whyNot)
        }
    }
}
