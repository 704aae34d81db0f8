import Foundation

/// Turns a rule's strategy template into the concrete `spec.rebalanceStrategy` and `RebalanceSpec` to create.
public enum RebalancePlanner {
    /// The concrete strategy for `rule` given the connection numbers the decision was made on.
    ///
    /// `connEvictRate: auto` becomes `ceil(maxExcessPerDonor / targetSeconds)` clamped to `[min, max]`, where a
    /// donor's excess is its live connections above the node-set average (what it must shed to reach the average).
    public static func strategy(for rule: Rule, connections: BalanceEvaluation?) -> RebalanceStrategy {
        switch rule.strategy.connEvictRate {
        case .fixed(let rate):
            return rule.strategy.resolved(connEvictRate: max(1, rate))
        case .auto(let target, let minimum, let maximum):
            let excess = connections.map(maxExcessPerDonor) ?? 0
            return rule.strategy.resolved(
                connEvictRate: autoRate(excess: excess, targetSeconds: target, minimum: minimum, maximum: maximum)
            )
        }
    }

    /// `ceil(excess / targetSeconds)` clamped to `[minimum, maximum]` (and never below 1).
    public static func autoRate(excess: Double, targetSeconds: TimeInterval, minimum: Int, maximum: Int) -> Int {
        let raw = targetSeconds > 0 ? (max(0, excess) / targetSeconds).rounded(.up) : Double(maximum)
        let clamped = min(Double(maximum), max(Double(minimum), raw))
        return max(1, Int(clamped))
    }

    /// The largest `donor − average` over the donors of a connection evaluation (0 without donors).
    public static func maxExcessPerDonor(_ evaluation: BalanceEvaluation) -> Double {
        let all = evaluation.donorValues + evaluation.recipientValues
        guard !all.isEmpty else { return 0 }
        let mean = all.reduce(0, +) / Double(all.count)
        return evaluation.donorValues.map { $0 - mean }.max() ?? 0
    }

    /// The `Rebalance` spec for a `rebalance` decision on `cluster`; `nil` for other decisions.
    public static func spec(for decision: DecisionRecord, cluster: ClusterReference) -> RebalanceSpec? {
        guard decision.action == .rebalance, let strategy = decision.strategy else { return nil }
        return RebalanceSpec(instanceKind: cluster.kind, instanceName: cluster.name, rebalanceStrategy: strategy)
    }
}
