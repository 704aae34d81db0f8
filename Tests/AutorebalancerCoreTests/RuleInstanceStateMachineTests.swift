import Foundation
import Testing

@testable import AutorebalancerCore

/// The rule state machine on its own (`step`, `confirm`) and the engine around it: only confirmed actions count.
struct RuleInstanceStateMachineTests {
    typealias F = EngineFixture

    static let rule = F.skewRule(forDuration: 30)
    static let holds = RuleObservation(conditionFails: nil, gate: nil, ownCooldown: false)

    @Test func aStepThatPassesEveryGateIsCreatingNotActed() {
        let firing = RuleInstance.firing(since: F.time(0), alerted: false, retry: nil)
        let transition = firing.step(rule: Self.rule, observation: Self.holds, at: F.time(40))
        #expect(transition.action == .rebalance)
        #expect(transition.next == .creating(since: F.time(0), decidedAt: F.time(40), retry: nil))
        #expect(transition.next.state == .creating)
    }

    @Test(arguments: [
        (NotMadeReason.notLeader(wouldCreate: "Rebalance default/x"), BlockReason.notLeader),
        (.dryRun(wouldCreate: nil), .dryRun),
        (.blocked("Rebalance y is Processing"), .rebalanceRunning),
        (.otherRule("rule z acts"), .otherRuleActing),
    ])
    func anActionNotMadeGoesBackToFiring(_ reason: NotMadeReason, _ code: BlockReason) {
        let creating = RuleInstance.creating(since: F.time(0), decidedAt: F.time(40), retry: nil)
        let (next, whyNot) = creating.confirm(.notMade(reason), rule: "skew", at: F.time(40), retryPolicy: .default)
        #expect(next == .firing(since: F.time(0), alerted: false, retry: nil))
        #expect(whyNot?.reason == code)
    }

    @Test func onlyAConfirmationActs() {
        let creating = RuleInstance.creating(since: F.time(0), decidedAt: F.time(40), retry: nil)
        let (next, whyNot) = creating.confirm(
            .confirmed(name: "r1"),
            rule: "skew",
            at: F.time(41),
            retryPolicy: .default
        )
        #expect(next == .acted(ConfirmedAction(rule: "skew", name: "r1", at: F.time(41))))
        #expect(whyNot == nil)
        // Confirming anything but `creating` changes nothing.
        let pending = RuleInstance.pending(since: F.time(0))
        #expect(
            pending.confirm(.confirmed(name: "r1"), rule: "skew", at: F.time(41), retryPolicy: .default).next == pending
        )
    }

    /// Each failure doubles the wait from the initial backoff, capped; the why-not names the class; the condition
    /// stopping forgets the episode's failures.
    @Test func failuresBackOffDoublingAndCapped() {
        let policy = CreateRetryPolicy(initialBackoff: 30, maximumBackoff: 100, escalateAfter: 3)
        var state = RuleInstance.firing(since: F.time(0), alerted: false, retry: nil)
        var now = F.time(30)
        var attempts: [TimeInterval] = []
        var waits: [TimeInterval] = []
        for _ in 0..<5 {
            // Step every second until the rule wants to act again.
            var transition = state.step(rule: Self.rule, observation: Self.holds, at: now)
            while transition.action != .rebalance {
                #expect(transition.whyNot?.reason == .createFailed)
                #expect(transition.whyNot?.detail.hasPrefix("forbidden: no") == true)
                now = now.addingTimeInterval(1)
                transition = transition.next.step(rule: Self.rule, observation: Self.holds, at: now)
            }
            attempts.append(now.timeIntervalSince(F.time(0)))
            let (next, whyNot) = transition.next.confirm(
                .failed(ActionFailure(.forbidden, "no")),
                rule: "skew",
                at: now,
                retryPolicy: policy
            )
            #expect(whyNot?.reason == .createFailed)
            #expect(next.state == .firing)
            waits.append(next.retry!.notBefore.timeIntervalSince(now))
            #expect(next.retry?.escalated == (next.retry!.failures >= 3))
            state = next
        }
        #expect(attempts == [30, 60, 120, 220, 320])
        #expect(waits == [30, 60, 100, 100, 100])
        #expect(state.retry?.failures == 5)
        let stops = state.step(
            rule: Self.rule,
            observation: RuleObservation(conditionFails: WhyNot(.balanced, "x"), gate: nil, ownCooldown: false),
            at: now
        )
        #expect(stops.next == .inactive)
        #expect(stops.next.retry == nil)
    }

    @Test func backoffArithmeticDoesNotOverflow() {
        let policy = CreateRetryPolicy(initialBackoff: 30, maximumBackoff: 600)
        #expect(policy.backoff(afterFailures: 1) == 30)
        #expect(policy.backoff(afterFailures: 5) == 480)
        #expect(policy.backoff(afterFailures: Int.max) == 600)
        #expect(policy.backoff(afterFailures: Int.min) == 30)
    }

    // MARK: The engine: what counts

    /// Three failed creates: no cooldown, the daily limit untouched (one left of 1 per day), and the fourth attempt,
    /// after the fault is gone, creates it.
    @Test func failedCreatesStartNoCooldownAndLeaveTheDailyLimit() throws {
        var policy = F.policy([F.skewRule(forDuration: 0, cooldown: 600)])
        policy.limits.maxRebalancesPerDay = 1
        let retry = CreateRetryPolicy(initialBackoff: 10, maximumBackoff: 40)
        var state: ClusterEngineState?
        var created: [Double] = []
        for step in 0..<20 {
            let at = F.time(Double(step) * 10)
            var result = PolicyEngine.evaluate(
                policy,
                snapshot: F.snapshot(F.imbalanced, at: at),
                history: .empty,
                at: at,
                previous: state
            )
            if result.rebalance != nil {
                let outcome: ActionResult =
                    step < 6 ? .failed(ActionFailure(.forbidden, "RBAC")) : .confirmed(name: "r\(step)")
                result = PolicyEngine.confirm(result, outcome, at: at, retryPolicy: retry)
                if case .confirmed = outcome { created.append(Double(step) * 10) }
                if case .failed = outcome {
                    #expect(result.decisions.isEmpty, "a failed create is no decision")
                    #expect(result.evaluations[0].whyNot?.reason == .createFailed)
                    #expect(result.evaluations[0].record.action == .blocked)
                }
            }
            #expect(
                result.evaluations[0].whyNot?.reason != .cooldown || !created.isEmpty,
                "no cooldown before a confirmed create"
            )
            #expect(
                result.evaluations[0].whyNot?.reason != .dailyLimit || !created.isEmpty,
                "failures count toward no limit"
            )
            state = result.state
        }
        // Attempts at 0 (fails), 10 (fails), 30 (fails), 70: confirmed; afterwards the rule cools down.
        #expect(created == [70])
        #expect(state?.confirmed.map(\.name) == ["r7"])
        let after = PolicyEngine.evaluate(
            policy,
            snapshot: F.snapshot(F.imbalanced, at: F.time(200)),
            history: .empty,
            at: F.time(200),
            previous: state
        )
        #expect(after.evaluations[0].state == .coolingDown)
    }

    /// The losers of the arbitration and an unconfirmed winner never act: only `confirm` makes a rule `acted`.
    @Test func theUnconfirmedWinnerIsCreatingAndTheOthersFiring() {
        let policy = F.policy([
            F.skewRule(name: "a", forDuration: 0), F.skewRule(name: "b", forDuration: 0, priority: 1),
        ])
        let result = PolicyEngine.evaluate(
            policy,
            snapshot: F.snapshot(F.imbalanced, at: F.time(0)),
            history: .empty,
            at: F.time(0),
            previous: nil
        )
        #expect(result.evaluations.map(\.state) == [.firing, .creating])
        #expect(result.state.confirmed.isEmpty)
        let notLeader = PolicyEngine.confirm(
            result,
            .notMade(.notLeader(wouldCreate: nil)),
            at: F.time(0),
            retryPolicy: .default
        )
        #expect(notLeader.evaluations.map(\.state) == [.firing, .firing])
        #expect(notLeader.evaluations[1].whyNot?.reason == .notLeader)
        #expect(notLeader.decisions.isEmpty)
        #expect(notLeader.state.confirmed.isEmpty)
        // The next cycle decides again (no cooldown, no backoff for an action not made).
        let again = PolicyEngine.evaluate(
            policy,
            snapshot: F.snapshot(F.imbalanced, at: F.time(10)),
            history: .empty,
            at: F.time(10),
            previous: notLeader.state
        )
        #expect(again.rebalance?.rule == "b")
    }

    /// A record of implausible counts (from hostile input) is built without trapping: such values are left out.
    @Test func implausibleCountsAreLeftOutOfTheRecordNotTrapped() {
        let counts = PolicyEngine.wholeCounts([
            ("a", 3000), ("b", .infinity), ("c", .nan), ("d", 1e19), ("e", -1e19), ("f", 2.6),
        ])
        #expect(counts == ["a": 3000, "f": 3])
    }
}
