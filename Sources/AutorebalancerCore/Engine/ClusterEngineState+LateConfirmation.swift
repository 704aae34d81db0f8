import Foundation

extension ClusterEngineState {
    /// Takes a confirmation that came after the cycle that acted: a start whose answer was lost (confirmed `failed`
    /// then) and that EMQX's `global_status` later showed running. From now on it counts like any confirmed action
    /// (cooldown, daily limit); the rule that made it leaves its create backoff for `acted`. Pure; a confirmation
    /// already known (by name) changes nothing.
    public func confirmingLate(_ action: ConfirmedAction) -> ClusterEngineState {
        guard !confirmed.contains(where: { $0.name == action.name }) else { return self }
        var copy = self
        copy.confirmed.append(action)
        switch rules[action.rule] {
        case .firing(_, _, let retry?)?, .creating(_, _, let retry?)?:
            // Only the failed attempt of this episode is overturned; a rule that has since cooled down or gone
            // inactive keeps its state (the confirmation still counts for cooldowns and limits).
            if retry.lastAttemptAt <= action.at { copy.rules[action.rule] = .acted(action) }
        default:
            break
        }
        return copy
    }
}
