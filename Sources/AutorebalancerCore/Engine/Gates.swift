import Foundation

/// Step 4 of an evaluation: the safety gates a rebalance rule passes once its condition has held for `for`. The
/// cluster-level inputs are computed once per evaluation; each gate is a small function, tried in ``order``, and the
/// first closed one is the rule's why-not. A new gate is one function and one entry in ``order``.
struct Gates: Sendable {
    let policy: Policy
    let facts: ClusterFacts
    let history: ActionHistory
    let now: Date
    /// The maintenance window `now` is in, if any.
    let window: MaintenanceWindow?
    /// A rebalance the history shows running (ours or not).
    let activeRebalance: PastRebalance?
    /// The latest rebalance the history shows (ours or not), by its end (or start, while running).
    let lastRebalance: (at: Date, what: String)?
    /// The latest confirmed action of this policy (any rule), when newer than the history shows it.
    let lastOwnAction: Date?
    /// Our rebalances in the last 24 h: the history's and the confirmed ones, each counted once.
    let ours24h: Int
    /// Per rule, when its own latest confirmed rebalance started its cooldown.
    let ownCooldownStart: [String: Date]

    init(policy: Policy, facts: ClusterFacts, history: ActionHistory, confirmed: [ConfirmedAction], at now: Date) {
        self.policy = policy
        self.facts = facts
        self.history = history
        self.now = now
        let horizon = now.addingTimeInterval(-86400)
        window = policy.maintenanceWindows.first { $0.contains(now) }
        activeRebalance = history.rebalances.last { $0.isActive }
        lastRebalance = history.rebalances.map { ($0.finishedAt ?? $0.createdAt, "rebalance \($0.name)") }.max {
            $0.0 < $1.0
        }
        lastOwnAction = confirmed.map(\.at).max()
        let ours = history.rebalances.filter { $0.ours && $0.createdAt > horizon }.map(\.name)
        ours24h = Set(ours).union(confirmed.filter { $0.at > horizon }.map(\.name)).count
        var starts: [String: Date] = [:]
        for action in confirmed { starts[action.rule] = max(starts[action.rule] ?? .distantPast, action.at) }
        for past in history.rebalances where past.ours {
            guard let rule = past.rule else { continue }
            starts[rule] = max(starts[rule] ?? .distantPast, past.finishedAt ?? past.createdAt)
        }
        ownCooldownStart = starts
    }

    /// The cooldown after `rule`'s own confirmed rebalance is running.
    func ownCooldown(_ rule: Rule) -> Bool {
        ownCooldownStart[rule.name].map { now < $0.addingTimeInterval(rule.cooldown) } ?? false
    }

    /// The first closed gate for `rule`, or `nil` when all are open.
    func firstClosed(for rule: Rule) -> WhyNot? {
        for gate in Self.order {
            if let closed = gate(self, rule) { return closed }
        }
        return nil
    }

    /// The gates, in the documented order (docs/policy.md, "How the engine decides").
    static let order: [@Sendable (Gates, Rule) -> WhyNot?] = [
        { g, _ in g.paused() },
        { g, rule in g.maintenance(rule) },
        { g, _ in g.cannotAct() },
        { g, _ in g.operatorPaused() },
        { g, _ in g.scalingDown() },
        { g, _ in g.notReady() },
        { g, _ in g.notEnterprise() },
        { g, _ in g.upgrading() },
        { g, _ in g.scalingIn() },
        { g, _ in g.evacuating() },
        { g, _ in g.rebalanceRunning() },
        { g, rule in g.cooldown(rule) },
        { g, _ in g.dailyLimit() },
        { g, rule in g.ineffectiveLimit(rule) },
    ]

    // MARK: The gates

    func paused() -> WhyNot? {
        policy.paused ? WhyNot(.paused, "the policy is paused (spec.paused)") : nil
    }

    func maintenance(_ rule: Rule) -> WhyNot? {
        guard let window, !rule.bypassMaintenance else { return nil }
        return WhyNot(.maintenanceWindow, "inside maintenance window \(window.summary)")
    }

    func cannotAct() -> WhyNot? {
        facts.cannotAct.map { WhyNot(.cannotAct, $0) }
    }

    func operatorPaused() -> WhyNot? {
        facts.operatorPaused == true
            ? WhyNot(.operatorPaused, "the operator's reconciliation is paused (condition Paused is True)") : nil
    }

    func scalingDown() -> WhyNot? {
        if let unreadable = facts.podsUnreadable {
            return WhyNot(
                .scalingDown,
                "cannot tell whether the operator is removing pods (\(Pod.scalingDownAnnotation)): the pods could not be read: \(unreadable)"
            )
        }
        guard let pods = facts.podsBeingRemoved, !pods.isEmpty else { return nil }
        return WhyNot(
            .scalingDown,
            "the operator is removing pod(s) \(pods.joined(separator: ", ")) (\(Pod.scalingDownAnnotation))"
        )
    }

    func notReady() -> WhyNot? {
        switch facts.ready {
        case .none: WhyNot(.notReady, "cluster readiness unknown")
        case .some(false): WhyNot(.notReady, "cluster not Ready")
        case .some(true): nil
        }
    }

    func notEnterprise() -> WhyNot? {
        facts.enterprise == false ? WhyNot(.notEnterprise, "rebalance needs EMQX Enterprise") : nil
    }

    func upgrading() -> WhyNot? {
        facts.upgrading == true ? WhyNot(.upgrading, "upgrade in progress") : nil
    }

    func scalingIn() -> WhyNot? {
        facts.scalingIn == true ? WhyNot(.scalingIn, "scale-in in progress") : nil
    }

    func evacuating() -> WhyNot? {
        facts.evacuating == true ? WhyNot(.evacuating, "node evacuation in progress") : nil
    }

    func rebalanceRunning() -> WhyNot? {
        if let activeRebalance { return WhyNot(.rebalanceRunning, "rebalance \(activeRebalance.name) is running") }
        if facts.rebalanceRunning == true { return WhyNot(.rebalanceRunning, "a rebalance is running on the cluster") }
        return nil
    }

    func cooldown(_ rule: Rule) -> WhyNot? {
        var start = lastRebalance
        if let own = lastOwnAction, own > (start?.at ?? .distantPast) {
            start = (own, "this agent's last confirmed rebalance")
        }
        guard let (at, what) = start, now < at.addingTimeInterval(rule.cooldown) else { return nil }
        let until = at.addingTimeInterval(rule.cooldown)
        return WhyNot(
            .cooldown,
            "cooldown until \(KubernetesTime.format(until)) (\(DurationText.format(rule.cooldown)) after \(what))"
        )
    }

    func dailyLimit() -> WhyNot? {
        guard ours24h >= policy.limits.maxRebalancesPerDay else { return nil }
        return WhyNot(
            .dailyLimit,
            "daily limit reached: \(ours24h) of \(policy.limits.maxRebalancesPerDay) rebalances in the last 24h"
        )
    }

    func ineffectiveLimit(_ rule: Rule) -> WhyNot? {
        let ineffective = PolicyEngine.consecutiveIneffective(rule.name, history: history)
        guard ineffective >= policy.limits.maxConsecutiveIneffective else { return nil }
        return WhyNot(
            .ineffectiveLimit,
            "\(ineffective) consecutive ineffective rebalances from this rule; set the annotation autorebalancer.emqx.io/reset-ineffective on the EMQX object to resume"
        )
    }
}
