/// One family of the agent's own metrics: its name, type, labels and HELP text. ``AgentMetrics/families`` lists
/// them all; docs/metrics.md documents the same list.
public struct AgentMetricFamily: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case counter, gauge, histogram
    }

    public var name: String
    public var kind: Kind
    public var labels: [String]
    public var help: String

    public init(_ name: String, _ kind: Kind, labels: [String] = [], help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
    }
}
