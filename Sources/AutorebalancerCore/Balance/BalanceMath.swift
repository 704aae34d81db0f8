/// EMQX's node-rebalance arithmetic, exactly as `emqx_node_rebalance.erl` computes it.
///
/// - Donors are the nodes whose **live connections** are `>=` the mean of the rebalanced node set; recipients are the
///   rest. Only connection counts decide the partition; sessions reuse it.
/// - A quantity is balanced when `avg(donors) <= avg(recipients) + abs` OR `avg(donors) <= avg(recipients) * rel`
///   (non-strict, as in `within_thresholds/3`).
/// - EMQX starts a rebalance only when connections or sessions are imbalanced; with no donors or no recipients it
///   answers `nothing_to_balance`.
public enum BalanceMath {
    /// One node's input to the formula.
    public struct NodeCounts: Sendable, Hashable {
        public var name: String
        public var liveConnections: Double
        public var sessions: Double?

        public init(name: String, liveConnections: Double, sessions: Double? = nil) {
            self.name = name
            self.liveConnections = liveConnections
            self.sessions = sessions
        }
    }

    /// Splits nodes into donors (`>=` mean live connections) and recipients, keeping input order.
    public static func partition(_ nodes: [NodeCounts]) -> (donors: [NodeCounts], recipients: [NodeCounts]) {
        guard !nodes.isEmpty else { return ([], []) }
        let mean = nodes.map(\.liveConnections).reduce(0, +) / Double(nodes.count)
        var donors: [NodeCounts] = []
        var recipients: [NodeCounts] = []
        for node in nodes {
            if node.liveConnections >= mean { donors.append(node) } else { recipients.append(node) }
        }
        return (donors, recipients)
    }

    /// EMQX's `within_thresholds(V, Goal, {Abs, Rel})`.
    public static func within(_ donorAverage: Double, _ recipientAverage: Double, _ threshold: BalanceThreshold) -> Bool
    {
        donorAverage <= recipientAverage + threshold.absolute || donorAverage <= recipientAverage * threshold.relative
    }

    /// Evaluates the balance formula for connections over the given node set.
    public static func evaluateConnections(_ nodes: [NodeCounts], threshold: BalanceThreshold) -> BalanceEvaluation {
        evaluate(nodes, quantity: .connections, threshold: threshold) { $0.liveConnections }
    }

    /// Evaluates the balance formula for sessions, partitioned by live connections as EMQX does.
    /// Returns `nil` when any node lacks a session count.
    public static func evaluateSessions(_ nodes: [NodeCounts], threshold: BalanceThreshold) -> BalanceEvaluation? {
        guard nodes.allSatisfy({ $0.sessions != nil }) else { return nil }
        return evaluate(nodes, quantity: .sessions, threshold: threshold) { $0.sessions ?? 0 }
    }

    static func evaluate(
        _ nodes: [NodeCounts],
        quantity: BalanceQuantity,
        threshold: BalanceThreshold,
        value: (NodeCounts) -> Double
    ) -> BalanceEvaluation {
        let (donors, recipients) = partition(nodes)
        let donorValues = donors.map(value)
        let recipientValues = recipients.map(value)
        let verdict: BalanceVerdict
        if let d = BalanceEvaluation.mean(donorValues), let r = BalanceEvaluation.mean(recipientValues) {
            let byAbs = d <= r + threshold.absolute
            let byRel = d <= r * threshold.relative
            switch (byAbs, byRel) {
            case (true, true): verdict = .balancedByBoth
            case (true, false): verdict = .balancedByAbsolute
            case (false, true): verdict = .balancedByRelative
            case (false, false): verdict = .imbalanced
            }
        } else {
            verdict = .nothingToBalance
        }
        return BalanceEvaluation(
            quantity: quantity,
            threshold: threshold,
            donors: donors.map(\.name),
            recipients: recipients.map(\.name),
            donorValues: donorValues,
            recipientValues: recipientValues,
            verdict: verdict
        )
    }

    /// EMQX's start decision: a rebalance is needed when connections are imbalanced or (if sessions are known) sessions
    /// are. `nothing_to_balance` (no donors or no recipients) is never "needed".
    public static func needsRebalance(connections: BalanceEvaluation, sessions: BalanceEvaluation?) -> Bool {
        connections.verdict == .imbalanced || sessions?.verdict == .imbalanced
    }
}
