import Foundation

/// The final JSON object of `demo --format json`:
/// `{"scenario":…,"before":{node:{connections,sessions}},"after":{…},"rebalances":[{name,phase,spec}],"times":{…}}`.
public struct DemoSummary: Sendable, Hashable, Codable {
    public struct Counts: Sendable, Hashable, Codable {
        public var connections: Int
        public var sessions: Int

        public init(connections: Int, sessions: Int) {
            self.connections = connections
            self.sessions = sessions
        }
    }

    /// A rebalance the agent made: an operator `Rebalance`, or (acting through EMQX's API) an `EMQXRebalance` record,
    /// whose target and strategy are given in the `Rebalance`'s terms.
    public struct CreatedRebalance: Sendable, Hashable, Codable {
        /// `Rebalance` or `EMQXRebalance`.
        public var kind: String
        public var name: String
        public var phase: String?
        public var spec: RebalanceSpec

        public init(kind: String = "Rebalance", name: String, phase: String?, spec: RebalanceSpec) {
            self.kind = kind
            self.name = name
            self.phase = phase
            self.spec = spec
        }
    }

    /// Simulated seconds since the demo started; `nil` when the event did not happen.
    public struct Times: Sendable, Hashable, Codable {
        public var onsetSeconds: Double?
        public var createdSeconds: Double?
        public var completedSeconds: Double?

        public init(onsetSeconds: Double? = nil, createdSeconds: Double? = nil, completedSeconds: Double? = nil) {
            self.onsetSeconds = onsetSeconds
            self.createdSeconds = createdSeconds
            self.completedSeconds = completedSeconds
        }
    }

    public var scenario: String
    public var before: [String: Counts]
    public var after: [String: Counts]
    public var rebalances: [CreatedRebalance]
    public var times: Times
    /// Decision records the agent made during the demo.
    public var decisions: [DecisionRecord]
    /// The outcome the agent judged for its rebalance, if any.
    public var outcome: String?

    public init(
        scenario: String,
        before: [String: Counts],
        after: [String: Counts],
        rebalances: [CreatedRebalance],
        times: Times,
        decisions: [DecisionRecord] = [],
        outcome: String? = nil
    ) {
        self.scenario = scenario
        self.before = before
        self.after = after
        self.rebalances = rebalances
        self.times = times
        self.decisions = decisions
        self.outcome = outcome
    }

    /// One line of JSON with sorted keys inside maps.
    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
