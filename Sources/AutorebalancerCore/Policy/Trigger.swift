/// What a rule reacts to.
public enum Trigger: String, Sendable, Hashable, Codable, CaseIterable {
    /// A node joined the rebalanced node set within the rule's window.
    case scaleOut
    /// A node restarted or rejoined within the rule's window.
    case restart
    /// Imbalance alone, whatever the cause.
    case skew
}
