import Foundation

/// The rule engine: pure, one cluster at a time. Time, inputs and the previous state are parameters.
///
/// Per rule, the condition is *trigger* (a node joined / restarted within the window, or always for `skew`) **and**
/// minimum nodes and connections **and** imbalance at the rule's detection thresholds (EMQX's formula: connections
/// or sessions imbalanced). It must hold continuously for `for`, measured on the evaluation clock; then a rebalance
/// rule acts when every gate is open, in this order (the first closed one is the why-not): paused, maintenance window,
/// not Ready, not Enterprise, upgrading, scaling in, evacuating, rebalance running, cooldown, daily limit, ineffective
/// limit. At most one rebalance per cluster per evaluation: the highest `priority`, then the first in file order, wins;
/// the others are held back with `other-rule`.
///
/// Unknown facts (`nil`): an unknown `ready` blocks (`not-ready`, "readiness unknown"); unknown upgrading, scaling-in,
/// evacuating, rebalance-running and enterprise facts do not block, because they are read from the same EMQX object as
/// `ready` (when that object is unreadable, `ready` is unknown too) and an active rebalance is also known from the
/// `ActionHistory`. Missing data never counts as zero: a node of the expected set without a fresh sample, or with a
/// sample older than the policy's staleness age, makes every rule inactive (`missing-data`, `stale-data`) and resets
/// `for`.
public enum PolicyEngine {
    /// Evaluates every rule of `policy` on one cluster.
    /// - Parameters:
    ///   - policy: the validated policy.
    ///   - snapshot: what is known about the cluster now.
    ///   - history: the rebalances the cluster shows (ours and manual), for cooldowns and limits.
    ///   - at: the evaluation instant (the evaluation clock).
    ///   - previous: the state returned by the previous evaluation, or `nil` after a (re)start.
    /// - Returns: the new state, one evaluation per rule, and the decisions (at most one rebalance, any alerts).
    public static func evaluate(
        _ policy: Policy,
        snapshot: ClusterSnapshot,
        history: ActionHistory,
        at now: Date,
        previous: ClusterEngineState?
    ) -> EngineResult {
        var state = previous ?? ClusterEngineState(cluster: snapshot.cluster)
        state.cluster = snapshot.cluster
        let restarted = previous?.lastEvaluatedAt == nil

        // MARK: Data
        let expected = snapshot.expectedNodes ?? snapshot.rebalancedNodes.map(\.name)
        var missing: [String] = []
        var withoutLive: Set<String> = []
        var stale: [(String, TimeInterval)] = []
        var counts: [BalanceMath.NodeCounts] = []
        var fresh: Set<String> = []
        for name in expected {
            guard let node = snapshot.node(named: name), let live = node.liveConnections else {
                if snapshot.node(named: name) != nil { withoutLive.insert(name) }
                missing.append(name)
                continue
            }
            let age = now.timeIntervalSince(node.observedAt ?? snapshot.takenAt)
            if age > policy.staleness {
                stale.append((name, age))
                continue
            }
            fresh.insert(name)
            counts.append(BalanceMath.NodeCounts(name: name, liveConnections: live, sessions: node.sessions))
        }
        let dataGap: WhyNot?
        if expected.isEmpty {
            dataGap = WhyNot(.missingData, "no node reported and none is expected")
        } else if let first = missing.first {
            let more = missing.count > 1 ? " (and \(missing.count - 1) more)" : ""
            let what = withoutLive.contains(first) ? "has no live-connection count" : "has no fresh sample"
            dataGap = WhyNot(.missingData, "node \(first) \(what)\(more)")
        } else if let first = stale.first {
            dataGap = WhyNot(.staleData, "node \(first.0): sample is \(DurationText.format(first.1)) old (staleness \(DurationText.format(policy.staleness)))")
        } else {
            dataGap = nil
        }

        // MARK: Node memory (scale-out and restart detection)
        let nearZero = policy.rules.filter { $0.trigger == .restart }.map(\.nearZeroConnections).min() ?? Rule.Defaults.nearZeroConnections
        var memory: [String: NodeMemory] = [:]
        // Nodes seen before the cluster's node list first became known (an agent started beside an empty status) are
        // the cluster as it is, not nodes joining it.
        let knewNodes = !state.nodes.isEmpty
        for name in expected {
            var m = state.nodes[name] ?? NodeMemory()
            let isNew = state.nodes[name] == nil
            let node = fresh.contains(name) ? snapshot.node(named: name) : nil
            if isNew {
                if !restarted, knewNodes { m.joinedAt = now }
                if restarted, let uptime = node?.uptimeSeconds {
                    // Fresh engine: an uptime is the only way to know the node (re)started recently.
                    m.restartedAt = now.addingTimeInterval(-uptime)
                }
            }
            if let node {
                if let uptime = node.uptimeSeconds, let last = m.lastUptime, uptime < last {
                    m.restartedAt = now.addingTimeInterval(-uptime)
                }
                if let counter = node.restartCounter, let last = m.lastRestartCounter, counter < last {
                    m.restartedAt = now
                }
                if m.vanished, !isNew {
                    m.restartedAt = now
                }
                if let live = node.liveConnections, let last = m.lastLiveConnections, last > nearZero, live <= nearZero {
                    m.restartedAt = now
                }
                m.lastSeenAt = now
                m.lastUptime = node.uptimeSeconds ?? m.lastUptime
                m.lastRestartCounter = node.restartCounter ?? m.lastRestartCounter
                m.lastLiveConnections = node.liveConnections
                m.vanished = false
            } else if m.lastSeenAt != nil {
                m.vanished = true
            }
            memory[name] = m
        }
        // A node that left the set (stopped, restarting) is remembered for a while, so its return reads as a restart or
        // rejoin rather than as a new node joining.
        let keepDeparted = max(3600, policy.rules.map(\.triggerWindow).max() ?? 0)
        for (name, old) in state.nodes where memory[name] == nil {
            guard let lastSeen = old.lastSeenAt, now.timeIntervalSince(lastSeen) <= keepDeparted else { continue }
            var departed = old
            departed.vanished = true
            memory[name] = departed
        }
        state.nodes = memory

        // MARK: Cluster gates
        let facts = snapshot.facts
        let horizon = now.addingTimeInterval(-86400)
        state.recentActions = state.recentActions.filter { $0 > horizon }
        let activeRebalance = history.rebalances.last { $0.isActive }
        let lastRebalance = history.rebalances.map { ($0.finishedAt ?? $0.createdAt, "rebalance \($0.name)") }.max { $0.0 < $1.0 }
        let lastOwnAction = state.recentActions.max()
        let ours24h = max(history.rebalances.filter { $0.ours && $0.createdAt > horizon }.count, state.recentActions.count)
        let window = policy.maintenanceWindows.first { $0.contains(now) }

        // MARK: Rules
        var evaluations: [RuleEvaluation] = []
        var candidates: [(index: Int, rule: Rule)] = []
        var decisions: [DecisionRecord] = []
        var states: [String: RuleState] = [:]

        for (index, rule) in policy.rules.enumerated() {
            var rs = state.rules[rule.name] ?? RuleState()
            var connections: BalanceEvaluation?
            var sessions: BalanceEvaluation?
            var whyNot: WhyNot?
            var forRemaining: TimeInterval?
            var holds: Bool?
            var decision: DecisionRecord?

            let ownCooldownActive = rs.lastActedAt.map { now < $0.addingTimeInterval(rule.cooldown) } ?? false
            let idlePhase: RulePhase = ownCooldownActive ? .coolingDown : .inactive

            if let dataGap {
                whyNot = dataGap
            } else {
                if let threshold = rule.connections { connections = BalanceMath.evaluateConnections(counts, threshold: threshold) }
                if let threshold = rule.sessions { sessions = BalanceMath.evaluateSessions(counts, threshold: threshold) }
                whyNot = condition(rule, counts: counts, memory: memory, connections: connections, sessions: sessions, now: now)
                holds = whyNot == nil
            }

            if whyNot != nil {
                rs.activeSince = nil
                rs.phase = idlePhase
                rs.alertSent = false
            } else {
                let since = rs.activeSince ?? now
                rs.activeSince = since
                let elapsed = now.timeIntervalSince(since)
                let ownGate = ownCooldownActive
                    ? gate(
                        rule, policy: policy, facts: facts, window: window, activeRebalance: activeRebalance,
                        lastRebalance: lastRebalance, lastOwnAction: lastOwnAction, ours24h: ours24h, history: history, now: now)
                    : nil
                if let ownGate {
                    // Right after acting: the cooldown (or the running rebalance) is the news, `for` keeps counting.
                    rs.phase = .coolingDown
                    whyNot = ownGate
                    if elapsed < rule.forDuration { forRemaining = rule.forDuration - elapsed }
                } else if elapsed < rule.forDuration {
                    rs.phase = .pending
                    forRemaining = rule.forDuration - elapsed
                    whyNot = WhyNot(.pending, "for not yet elapsed: \(DurationText.format(elapsed)) of \(DurationText.format(rule.forDuration))")
                } else if rule.action == .alert {
                    rs.phase = .firing
                    if !rs.alertSent {
                        rs.alertSent = true
                        decision = record(rule, policy, snapshot, now, .alert, nil, counts, connections, sessions)
                    }
                } else {
                    rs.phase = .firing
                    whyNot = gate(
                        rule, policy: policy, facts: facts, window: window, activeRebalance: activeRebalance,
                        lastRebalance: lastRebalance, lastOwnAction: lastOwnAction, ours24h: ours24h, history: history, now: now)
                    if let blocked = whyNot {
                        if blocked.reason == .cooldown, ownCooldownActive { rs.phase = .coolingDown }
                        if blocked.reason == .ineffectiveLimit, !rs.alertSent {
                            rs.alertSent = true
                            decision = record(rule, policy, snapshot, now, .alert, blocked, counts, connections, sessions)
                        }
                    } else {
                        candidates.append((index, rule))
                    }
                }
            }
            states[rule.name] = rs
            let explanation = decision ?? record(rule, policy, snapshot, now, .blocked, whyNot, counts, connections, sessions)
            evaluations.append(RuleEvaluation(
                rule: rule.name, trigger: rule.trigger, action: rule.action, phase: rs.phase, conditionHolds: holds,
                connections: connections, sessions: sessions, forRemaining: forRemaining, whyNot: whyNot,
                decision: decision, record: explanation))
            if let decision { decisions.append(decision) }
        }

        // MARK: One rebalance per cluster
        let ordered = candidates.sorted { ($0.rule.priority, -$0.index) > ($1.rule.priority, -$1.index) }
        if let winner = ordered.first {
            let e = evaluations[winner.index]
            var d = record(winner.rule, policy, snapshot, now, .rebalance, nil, counts, e.connections, e.sessions)
            d.strategy = RebalancePlanner.strategy(for: winner.rule, connections: e.connections)
            var rs = states[winner.rule.name]!
            rs.phase = .acted
            rs.lastActedAt = now
            rs.activeSince = nil
            states[winner.rule.name] = rs
            state.recentActions.append(now)
            evaluations[winner.index].phase = .acted
            evaluations[winner.index].decision = d
            evaluations[winner.index].record = d
            evaluations[winner.index].whyNot = nil
            decisions.insert(d, at: 0)
            for other in ordered.dropFirst() {
                let why = WhyNot(.otherRuleActing, "rule \(winner.rule.name) acts on this cluster now (one rebalance at a time)")
                evaluations[other.index].whyNot = why
                evaluations[other.index].record.reason = why.reason
                evaluations[other.index].record.detail = why.detail
            }
        }

        state.rules = states
        state.lastEvaluatedAt = now
        return EngineResult(state: state, evaluations: evaluations, decisions: decisions)
    }

    // MARK: Condition

    /// The first part of the condition that does not hold, or `nil` when it all holds.
    static func condition(
        _ rule: Rule,
        counts: [BalanceMath.NodeCounts],
        memory: [String: NodeMemory],
        connections: BalanceEvaluation?,
        sessions: BalanceEvaluation?,
        now: Date
    ) -> WhyNot? {
        switch rule.trigger {
        case .skew:
            break
        case .scaleOut:
            let joined = counts.compactMap { c in memory[c.name]?.joinedAt.map { (c.name, now.timeIntervalSince($0)) } }
                .filter { $0.1 <= rule.triggerWindow }
            if joined.isEmpty {
                return WhyNot(.notTriggered, "no node joined in the last \(DurationText.format(rule.triggerWindow))")
            }
        case .restart:
            let restarted = counts.compactMap { c in memory[c.name]?.restartedAt.map { (c.name, now.timeIntervalSince($0)) } }
                .filter { $0.1 <= rule.triggerWindow }
            if restarted.isEmpty {
                return WhyNot(.notTriggered, "no node restarted in the last \(DurationText.format(rule.triggerWindow))")
            }
        }
        if counts.count < rule.minNodes {
            return WhyNot(.belowMinimumNodes, "\(counts.count) node(s) < minNodes \(rule.minNodes)")
        }
        let total = counts.map(\.liveConnections).reduce(0, +)
        if total < Double(rule.minConnections) {
            return WhyNot(.belowMinimumConnections, "\(BalanceEvaluation.format(total)) connections < minConnections \(rule.minConnections)")
        }
        if rule.connections == nil, rule.sessions != nil, sessions == nil {
            return WhyNot(.missingData, "the rule watches sessions only and some node has no session count")
        }
        let imbalanced = connections?.verdict == .imbalanced || sessions?.verdict == .imbalanced
        if !imbalanced {
            let parts = [connections, sessions].compactMap { $0 }.map { "\($0.quantity.rawValue): \($0.formula)" }
            let verdicts = [connections, sessions].compactMap { $0?.verdict.rawValue }
            return WhyNot(.balanced, "\(verdicts.joined(separator: " / ")) — \(parts.joined(separator: "; "))")
        }
        return nil
    }

    // MARK: Gates

    static func gate(
        _ rule: Rule,
        policy: Policy,
        facts: ClusterFacts,
        window: MaintenanceWindow?,
        activeRebalance: PastRebalance?,
        lastRebalance: (Date, String)?,
        lastOwnAction: Date?,
        ours24h: Int,
        history: ActionHistory,
        now: Date
    ) -> WhyNot? {
        if policy.paused { return WhyNot(.paused, "the policy is paused (spec.paused)") }
        if let window, !rule.bypassMaintenance {
            return WhyNot(.maintenanceWindow, "inside maintenance window \(window.summary)")
        }
        switch facts.ready {
        case .none: return WhyNot(.notReady, "cluster readiness unknown")
        case .some(false): return WhyNot(.notReady, "cluster not Ready")
        case .some(true): break
        }
        if facts.enterprise == false { return WhyNot(.notEnterprise, "rebalance needs EMQX Enterprise") }
        if facts.upgrading == true { return WhyNot(.upgrading, "upgrade in progress") }
        if facts.scalingIn == true { return WhyNot(.scalingIn, "scale-in in progress") }
        if facts.evacuating == true { return WhyNot(.evacuating, "node evacuation in progress") }
        if let activeRebalance { return WhyNot(.rebalanceRunning, "rebalance \(activeRebalance.name) is running") }
        if facts.rebalanceRunning == true { return WhyNot(.rebalanceRunning, "a rebalance is running on the cluster") }
        var cooldownStart: (Date, String)? = lastRebalance
        if let own = lastOwnAction, own > (cooldownStart?.0 ?? .distantPast) { cooldownStart = (own, "this agent's last rebalance") }
        if let cooldownStart, now < cooldownStart.0.addingTimeInterval(rule.cooldown) {
            let (start, what) = cooldownStart
            let until = start.addingTimeInterval(rule.cooldown)
            return WhyNot(.cooldown, "cooldown until \(KubernetesTime.format(until)) (\(DurationText.format(rule.cooldown)) after \(what))")
        }
        if ours24h >= policy.limits.maxRebalancesPerDay {
            return WhyNot(.dailyLimit, "daily limit reached: \(ours24h) of \(policy.limits.maxRebalancesPerDay) rebalances in the last 24h")
        }
        let ineffective = consecutiveIneffective(rule.name, history: history)
        if ineffective >= policy.limits.maxConsecutiveIneffective {
            return WhyNot(.ineffectiveLimit, "\(ineffective) consecutive ineffective rebalances from this rule; set the annotation autorebalancer.emqx.io/reset-ineffective on the EMQX object to resume")
        }
        return nil
    }

    /// Trailing ineffective outcomes of `rule`'s own rebalances since the last reset (unjudged ones are skipped).
    public static func consecutiveIneffective(_ rule: String, history: ActionHistory) -> Int {
        var count = 0
        for past in history.rebalances.reversed() where past.ours && past.rule == rule {
            if let reset = history.ineffectiveResetAt, past.createdAt < reset { break }
            guard let outcome = past.outcome else { continue }
            if outcome == .ineffective { count += 1 } else { break }
        }
        return count
    }

    // MARK: Records

    static func record(
        _ rule: Rule,
        _ policy: Policy,
        _ snapshot: ClusterSnapshot,
        _ now: Date,
        _ action: DecisionAction,
        _ whyNot: WhyNot?,
        _ counts: [BalanceMath.NodeCounts],
        _ connections: BalanceEvaluation?,
        _ sessions: BalanceEvaluation?
    ) -> DecisionRecord {
        let partition = connections ?? sessions
        let formula = [connections, sessions].compactMap { $0 }.map { e -> String in
            connections != nil && sessions != nil ? "\(e.quantity.rawValue): \(e.formula)" : e.formula
        }.joined(separator: "; ")
        var sessionCounts: [String: Int]?
        if counts.allSatisfy({ $0.sessions != nil }), !counts.isEmpty {
            sessionCounts = wholeCounts(counts.map { ($0.name, $0.sessions ?? 0) })
        }
        return DecisionRecord(
            time: now,
            cluster: snapshot.cluster.description,
            rule: rule.name,
            trigger: rule.trigger,
            action: action,
            reason: whyNot?.reason,
            detail: whyNot?.detail,
            donors: partition?.donors ?? [],
            recipients: partition?.recipients ?? [],
            connections: wholeCounts(counts.map { ($0.name, $0.liveConnections) }),
            sessions: sessionCounts,
            formula: formula,
            strategy: nil,
            policy: policy.identifier,
            labels: rule.labels.isEmpty ? nil : rule.labels,
            annotations: rule.annotations.isEmpty ? nil : rule.annotations
        )
    }

    /// Per-node counts as whole numbers for the record. A value no `Int` can hold (infinite, NaN, beyond ±2⁶³) is
    /// left out rather than trapping the process, and a node named twice keeps its last count.
    static func wholeCounts(_ values: [(String, Double)]) -> [String: Int] {
        var result: [String: Int] = [:]
        for (name, value) in values {
            if let whole = Int(exactly: value.rounded()) { result[name] = whole }
        }
        return result
    }
}
