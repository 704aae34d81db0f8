import AutorebalancerCore

/// What a `Failed` Rebalance's message means for the agent.
public enum RebalanceFailure: String, Sendable, Hashable {
    /// `EMQX <name> is not ready`. On EMQX 5 this can be false: the donors' readiness gate removes `Ready` while EMQX
    /// keeps rebalancing, so it must be confirmed with EMQX (`global_status`) or by waiting for Ready.
    case notReady = "not-ready"
    /// EMQX answered `nothing_to_balance`: already balanced at the strategy's thresholds. Recorded, never retried.
    case nothingToBalance = "nothing-to-balance"
    /// Anything else (not found, not Enterprise, API error, `already_started`): retried with backoff, then alerted.
    case other

    public static func classify(message: String?, kind: InstanceKind) -> RebalanceFailure {
        let text = (message ?? "").lowercased()
        if text.contains("nothing_to_balance") || text.contains("nothing to balance") { return .nothingToBalance }
        // EMQX 4.4's Running condition is computed from EMQX's own node status, not pod readiness: there the message
        // is genuine and the failure is an ordinary one.
        if text.contains("is not ready") && kind == .emqx { return .notReady }
        return .other
    }
}
