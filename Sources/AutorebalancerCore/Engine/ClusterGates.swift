import Foundation

/// The gates that concern the cluster itself, not a rule or a policy: what a person's manual `EMQXRebalance` waits
/// for (no cooldown or limit applies to it). Each is the engine's own gate, so a manual run and a rule are held back
/// by the same facts with the same words; a running rebalance is checked by the record lifecycle from EMQX's
/// `global_status`.
public enum ClusterGates {
    /// The first closed cluster gate, or `nil` when all are open.
    public static func firstClosed(_ facts: ClusterFacts, at now: Date) -> WhyNot? {
        let gates = Gates(
            policy: Policy(name: "manual run", rules: []),
            facts: facts,
            history: .empty,
            confirmed: [],
            at: now
        )
        for gate in order {
            if let closed = gate(gates) { return closed }
        }
        return nil
    }

    static let order: [@Sendable (Gates) -> WhyNot?] = [
        { $0.operatorPaused() },
        { $0.scalingDown() },
        // New nodes still starting: a run now would leave them out of the set.
        { $0.facts.nodesPending.flatMap(RuleCondition.waiting) },
        { $0.notReady() },
        { $0.notEnterprise() },
        { $0.upgrading() },
        { $0.scalingIn() },
        { $0.evacuating() },
    ]
}
