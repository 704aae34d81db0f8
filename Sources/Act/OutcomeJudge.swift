import AutorebalancerCore
import Foundation

/// Judges a finished rebalance from metrics: balanced, improved or ineffective (pure).
public enum OutcomeJudge {
    public struct Judgement: Sendable, Hashable {
        public var outcome: RebalanceOutcome
        /// The numbers: before and after formulas per quantity.
        public var detail: String
    }

    /// - Parameters:
    ///   - before: evaluations at decision time (connections, and sessions when known).
    ///   - after: evaluations now, with the same thresholds.
    ///   - minimumImprovement: the share of the donor/recipient gap that must be gone to count as improved. Default 0.5.
    /// - Returns: `balanced` when every quantity measured after is balanced; `improved` when each still-imbalanced
    ///   quantity's gap (`avg(donors) - avg(recipients)`) shrank by at least `minimumImprovement`; else `ineffective`.
    ///   `nil` when nothing was measured after.
    public static func judge(
        before: [BalanceEvaluation],
        after: [BalanceEvaluation],
        minimumImprovement: Double = 0.5
    ) -> Judgement? {
        guard !after.isEmpty else { return nil }
        let detail = after.map { now in
            let then = before.first { $0.quantity == now.quantity }
            return "\(now.quantity.rawValue): before \(then?.formula ?? "unknown"); after \(now.formula)"
        }.joined(separator: "; ")
        let imbalanced = after.filter { !$0.verdict.isBalanced }
        if imbalanced.isEmpty { return Judgement(outcome: .balanced, detail: detail) }
        let improvedAll = imbalanced.allSatisfy { now in
            guard let then = before.first(where: { $0.quantity == now.quantity }), let gapBefore = gap(then),
                gapBefore > 0,
                let gapAfter = gap(now)
            else { return false }
            return (gapBefore - gapAfter) / gapBefore >= minimumImprovement
        }
        return Judgement(outcome: improvedAll ? .improved : .ineffective, detail: detail)
    }

    /// Judges now-counts against the decision that asked for the rebalance (its recorded counts and strategy), or,
    /// without a readable decision (a manual run), against `strategy` alone.
    public static func judge(
        decision: DecisionRecord?,
        strategy: RebalanceStrategy,
        counts: [BalanceMath.NodeCounts],
        minimumImprovement: Double
    ) -> Judgement? {
        let strategy = decision?.strategy ?? strategy
        let before = decision.map { evaluations(Self.counts(of: $0), strategy: strategy) } ?? []
        return judge(
            before: before,
            after: evaluations(counts, strategy: strategy),
            minimumImprovement: minimumImprovement
        )
    }

    static func gap(_ evaluation: BalanceEvaluation) -> Double? {
        guard let d = evaluation.donorAverage, let r = evaluation.recipientAverage else { return nil }
        return d - r
    }

    /// Evaluations of per-node counts with a strategy's thresholds (sessions only when every node has one).
    public static func evaluations(
        _ counts: [BalanceMath.NodeCounts],
        strategy: RebalanceStrategy?
    ) -> [BalanceEvaluation] {
        guard !counts.isEmpty else { return [] }
        let strategy = strategy ?? RebalanceStrategy(connEvictRate: 1)
        var result = [BalanceMath.evaluateConnections(counts, threshold: strategy.effectiveConnectionThreshold)]
        if let sessions = BalanceMath.evaluateSessions(counts, threshold: strategy.effectiveSessionThreshold) {
            result.append(sessions)
        }
        return result
    }

    /// The counts a decision record carries (live connections, sessions when recorded).
    public static func counts(of decision: DecisionRecord) -> [BalanceMath.NodeCounts] {
        decision.connections.keys.sorted().map { node in
            BalanceMath.NodeCounts(
                name: node,
                liveConnections: Double(decision.connections[node] ?? 0),
                sessions: decision.sessions?[node].map(Double.init)
            )
        }
    }
}
