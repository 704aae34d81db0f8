import Foundation

/// Step 3 of an evaluation, per rule: trigger, then `minNodes`, `minConnections`, then the imbalance at the rule's
/// detection thresholds (EMQX's formula: connections or sessions imbalanced).
struct RuleCondition: Sendable {
    var connections: BalanceEvaluation?
    var sessions: BalanceEvaluation?
    /// The first part that does not hold; `nil` when the whole condition holds.
    var fails: WhyNot?

    /// - Parameter pending: nodes a scale-out still starts. Every rule waits for them first (`waiting-for-nodes`), so
    ///   no `for` counts on a cluster still growing: once the last new node is Ready, every rule starts together and
    ///   the scale-out rule's priority decides.
    init(
        _ rule: Rule,
        counts: [BalanceMath.NodeCounts],
        memory: [String: NodeMemory],
        pending: NodesPending? = nil,
        at now: Date
    ) {
        if let threshold = rule.connections {
            connections = BalanceMath.evaluateConnections(counts, threshold: threshold)
        }
        if let threshold = rule.sessions { sessions = BalanceMath.evaluateSessions(counts, threshold: threshold) }
        fails =
            pending.flatMap(Self.waiting) ?? Self.trigger(rule, counts: counts, memory: memory, at: now)
            ?? Self.minimums(rule, counts: counts) ?? imbalance(rule)
    }

    /// `waiting for 2 new nodes to be Ready (5 replicants wanted, 3 running)`; `nil` when none is awaited.
    static func waiting(_ pending: NodesPending) -> WhyNot? {
        let count = pending.count
        guard count > 0 else { return nil }
        return WhyNot(
            .waitingForNodes,
            "waiting for \(count) new node\(count == 1 ? "" : "s") to be Ready (\(pending.wanted) \(pending.role.rawValue)s wanted, \(pending.running) running)"
        )
    }

    static func trigger(
        _ rule: Rule,
        counts: [BalanceMath.NodeCounts],
        memory: [String: NodeMemory],
        at now: Date
    ) -> WhyNot? {
        func within(_ instant: (NodeMemory) -> Date?) -> Bool {
            counts.contains { c in
                memory[c.name].flatMap(instant).map { now.timeIntervalSince($0) <= rule.triggerWindow } ?? false
            }
        }
        switch rule.trigger {
        case .skew:
            return nil
        case .scaleOut:
            return within(\.joinedAt)
                ? nil : WhyNot(.notTriggered, "no node joined in the last \(DurationText.format(rule.triggerWindow))")
        case .restart:
            return within(\.restartedAt)
                ? nil
                : WhyNot(.notTriggered, "no node restarted in the last \(DurationText.format(rule.triggerWindow))")
        }
    }

    static func minimums(_ rule: Rule, counts: [BalanceMath.NodeCounts]) -> WhyNot? {
        if counts.count < rule.minNodes {
            return WhyNot(.belowMinimumNodes, "\(counts.count) node(s) < minNodes \(rule.minNodes)")
        }
        let total = counts.map(\.liveConnections).reduce(0, +)
        if total < Double(rule.minConnections) {
            return WhyNot(
                .belowMinimumConnections,
                "\(BalanceEvaluation.format(total)) connections < minConnections \(rule.minConnections)"
            )
        }
        return nil
    }

    func imbalance(_ rule: Rule) -> WhyNot? {
        if rule.connections == nil, rule.sessions != nil, sessions == nil {
            return WhyNot(.missingData, "the rule watches sessions only and some node has no session count")
        }
        guard connections?.verdict != .imbalanced, sessions?.verdict != .imbalanced else { return nil }
        let parts = [connections, sessions].compactMap { $0 }.map { "\($0.quantity.rawValue): \($0.formula)" }
        let verdicts = [connections, sessions].compactMap { $0?.verdict.rawValue }
        return WhyNot(.balanced, "\(verdicts.joined(separator: " / ")) — \(parts.joined(separator: "; "))")
    }
}
