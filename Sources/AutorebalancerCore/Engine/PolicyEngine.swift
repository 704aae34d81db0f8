import Foundation

/// The rule engine: pure, one cluster at a time. Time, inputs and the previous state are parameters.
///
/// An evaluation is five named steps: the data check (``DataCheck``), node memory (``NodeMemory/track``), per rule
/// the condition (``RuleCondition``: trigger, minimums, imbalance) and the gates (``Gates``), each rule's state
/// machine step (``RuleInstance/step(rule:observation:at:)``), and the arbitration (``Arbitration``: at most one
/// rebalance per cluster). The winning rule is left in `creating`: the owner acts and passes what the actuator really
/// did to ``confirm(_:_:at:retryPolicy:)``. Only a confirmed action starts a cooldown or counts toward a limit.
///
/// Unknown facts (`nil`): an unknown `ready` blocks (`not-ready`, "readiness unknown"); unknown upgrading, scaling-in,
/// evacuating, rebalance-running and enterprise facts do not block, because they are read from the same EMQX object as
/// `ready` (when that object is unreadable, `ready` is unknown too) and an active rebalance is also known from the
/// `ActionHistory`. Missing data never counts as zero: a node of the expected set without a fresh sample, or with a
/// sample older than the policy's staleness age, makes every rule inactive (`missing-data`, `stale-data`) and resets
/// `for`.
public enum PolicyEngine {
    /// Evaluates every rule of `policy` on one cluster (the `step` of every rule's state machine).
    /// - Parameters:
    ///   - policy: the validated policy.
    ///   - snapshot: what is known about the cluster now.
    ///   - history: the rebalances the cluster shows (ours and manual), for cooldowns and limits.
    ///   - at: the evaluation instant (the evaluation clock).
    ///   - previous: the state returned by the previous evaluation (or confirmation), or `nil` after a (re)start.
    /// - Returns: the new state, one evaluation per rule, and the decisions (at most one rebalance, any alerts). A
    ///   decided rebalance leaves its rule `creating` until ``confirm(_:_:at:retryPolicy:)``.
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

        let data = DataCheck(snapshot, staleness: policy.staleness, at: now)
        state.nodes = NodeMemory.track(
            state.nodes,
            policy: policy,
            snapshot: snapshot,
            data: data,
            restarted: restarted,
            at: now
        )
        state.confirmed = state.confirmed.filter { $0.at > now.addingTimeInterval(-86400) }
        let gates = Gates(policy: policy, facts: snapshot.facts, history: history, confirmed: state.confirmed, at: now)

        var evaluations: [RuleEvaluation] = []
        var candidates: [(index: Int, rule: Rule)] = []
        var decisions: [DecisionRecord] = []
        var instances: [String: RuleInstance] = [:]
        for (index, rule) in policy.rules.enumerated() {
            let condition =
                data.gap == nil
                ? RuleCondition(
                    rule,
                    counts: data.counts,
                    memory: state.nodes,
                    pending: snapshot.facts.nodesPending,
                    at: now
                ) : nil
            let fails = data.gap ?? condition?.fails
            let observation = RuleObservation(
                conditionFails: fails,
                gate: fails == nil && rule.action == .rebalance ? gates.firstClosed(for: rule) : nil,
                ownCooldown: gates.ownCooldown(rule)
            )
            let transition = (state.rules[rule.name] ?? .inactive).step(rule: rule, observation: observation, at: now)
            instances[rule.name] = transition.next

            var decision: DecisionRecord?
            if transition.action == .alert {
                decision = record(rule, policy, snapshot, now, .alert, transition.whyNot, data.counts, condition)
                decisions.append(decision!)
            }
            if transition.action == .rebalance { candidates.append((index, rule)) }
            evaluations.append(
                RuleEvaluation(
                    rule: rule.name,
                    trigger: rule.trigger,
                    action: rule.action,
                    state: transition.next.state,
                    conditionHolds: data.gap == nil ? fails == nil : nil,
                    connections: condition?.connections,
                    sessions: condition?.sessions,
                    forRemaining: transition.forRemaining,
                    whyNot: transition.whyNot,
                    decision: decision,
                    record: decision
                        ?? record(rule, policy, snapshot, now, .blocked, transition.whyNot, data.counts, condition),
                    retry: transition.next.retry
                )
            )
        }
        state.rules = instances
        state.lastEvaluatedAt = now
        var result = EngineResult(state: state, evaluations: evaluations, decisions: decisions)

        if let winner = Arbitration.winner(candidates).map({ candidates[$0] }) {
            let e = evaluations[winner.index]
            var d = record(
                winner.rule,
                policy,
                snapshot,
                now,
                .rebalance,
                nil,
                data.counts,
                nil,
                connections: e.connections,
                sessions: e.sessions
            )
            d.strategy = RebalancePlanner.strategy(for: winner.rule, connections: e.connections)
            result.evaluations[winner.index].decision = d
            result.evaluations[winner.index].record = d
            result.decisions.insert(d, at: 0)
            let why = NotMadeReason.otherRule(
                "rule \(winner.rule.name) acts on this cluster now (one rebalance at a time)"
            )
            for other in candidates where other.index != winner.index {
                result = confirm(result, rule: other.rule.name, .notMade(why), at: now, retryPolicy: .default)
            }
        }
        return result
    }

    /// Takes what the actuator really did with the rebalance `result` decided (the `confirm` of the winning rule's
    /// state machine), and returns the result as it now stands: a confirmed action makes the rule `acted` and counts
    /// from now on; a failure or an action not made leaves it `firing` with the why-not, and drops the rebalance from
    /// `decisions` (nothing happened).
    public static func confirm(
        _ result: EngineResult,
        _ outcome: ActionResult,
        at now: Date,
        retryPolicy: CreateRetryPolicy
    ) -> EngineResult {
        guard let decided = result.rebalance else { return result }
        return confirm(result, rule: decided.rule, outcome, at: now, retryPolicy: retryPolicy)
    }

    static func confirm(
        _ result: EngineResult,
        rule: String,
        _ outcome: ActionResult,
        at now: Date,
        retryPolicy: CreateRetryPolicy
    ) -> EngineResult {
        guard let instance = result.state.rules[rule], instance.state == .creating,
            let index = result.evaluations.firstIndex(where: { $0.rule == rule })
        else { return result }
        var result = result
        let (next, whyNot) = instance.confirm(outcome, rule: rule, at: now, retryPolicy: retryPolicy)
        result.state.rules[rule] = next
        if case .acted(let action) = next { result.state.confirmed.append(action) }
        var evaluation = result.evaluations[index]
        evaluation.state = next.state
        evaluation.whyNot = whyNot
        evaluation.retry = next.retry
        if let whyNot {
            // Not made: the record says what would have been done and why it was not.
            evaluation.decision = nil
            evaluation.record.action = .blocked
            evaluation.record.reason = whyNot.reason
            evaluation.record.detail = whyNot.detail
            result.decisions.removeAll { $0.rule == rule && $0.action == .rebalance }
        }
        result.evaluations[index] = evaluation
        return result
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
        _ condition: RuleCondition?,
        connections: BalanceEvaluation? = nil,
        sessions: BalanceEvaluation? = nil
    ) -> DecisionRecord {
        let connections = condition?.connections ?? connections
        let sessions = condition?.sessions ?? sessions
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
    /// left out rather than trapping the process: an implausible value is unknown, never a count.
    static func wholeCounts(_ values: [(String, Double)]) -> [String: Int] {
        var result: [String: Int] = [:]
        for (name, value) in values {
            if let whole = Int(exactly: value.rounded()) { result[name] = whole }
        }
        return result
    }
}
