import Foundation

/// A validated `kind: PolicyTest` file: the policies it tests and its test cases. See docs/policy-testing.md.
public struct PolicyTestFile: Sendable, Hashable {
    /// Policy file names as written (relative to the test file); the caller resolves and reads them.
    public var policies: [String]
    public var policyLocations: [SourceLocation]
    /// Overrides the policies' `spec.evaluationInterval` for every test of the file.
    public var evaluationInterval: TimeInterval?
    public var tests: [PolicyTestCase]
}

/// One test: inputs over time and expectations at given instants.
public struct PolicyTestCase: Sendable, Hashable {
    public var name: String
    public var location: SourceLocation
    public var cluster: ClusterReference
    /// The instant of step 0.
    public var start: Date
    /// Run until this offset (default: the end of the longest series or the last expectation).
    public var duration: TimeInterval?
    public var series: [NodeSeries]
    public var facts: [FactChange]
    public var rebalances: [ScriptedRebalance]
    /// How the rebalances the policy decides play out.
    public var agentRebalanceDuration: TimeInterval
    public var agentRebalanceOutcome: RebalanceOutcome
    public var ineffectiveResetAt: TimeInterval?
    /// Creates that fail: a rebalance decided inside one of these windows is confirmed as failed (the test has no
    /// actuator; every other decided rebalance is confirmed at once).
    public var createFailures: [DeclaredCreateFailure]
    /// How failed creates are retried (the agent's `rebalances.createRetryBackoff`/`createRetryBackoffMax`).
    public var createRetry: CreateRetryPolicy
    public var expectations: [Expectation]
}

/// A window in which creating the decided Rebalance fails with `kind`.
public struct DeclaredCreateFailure: Sendable, Hashable {
    public var from: TimeInterval
    /// `nil`: until the end of the test.
    public var until: TimeInterval?
    public var kind: ActionFailure.Kind

    public func covers(_ offset: TimeInterval) -> Bool {
        offset >= from - 1e-9 && until.map { offset < $0 - 1e-9 } ?? true
    }
}

/// The input series of one node.
public struct NodeSeries: Sendable, Hashable {
    public var node: String
    public var role: NodeRole?
    public var connections: [SeriesValue]
    public var sessions: [SeriesValue]?
    public var uptime: [SeriesValue]?
    public var restartCounter: [SeriesValue]?
    /// The node belongs to the expected (rebalanced) node set from this offset…
    public var joinAt: TimeInterval
    /// …until this offset.
    public var leaveAt: TimeInterval?
}

/// Cluster facts that change at an offset; `nil` fields keep their previous value.
public struct FactChange: Sendable, Hashable {
    public var at: TimeInterval
    public var facts: ClusterFacts
}

/// A rebalance the test makes happen (a manual one, or a past one of the agent).
public struct ScriptedRebalance: Sendable, Hashable {
    public var name: String
    public var at: TimeInterval
    /// `nil`: still running at the end of the test.
    public var duration: TimeInterval?
    public var ours: Bool
    public var rule: String?
    public var outcome: RebalanceOutcome?
}

/// What must be true at one evaluation instant.
public struct Expectation: Sendable, Hashable {
    public var at: TimeInterval
    public var location: SourceLocation
    /// The exact decisions (rebalance or alert) at this instant; `nil` leaves them unchecked.
    public var decisions: [ExpectedDecision]?
    /// Per rule: the expected why-not (`reason == nil` means "no why-not": the rule acted or alerted).
    public var whyNot: [String: ExpectedWhyNot]
    /// Per rule: the expected state (`state:`, or `phase:` as in older files).
    public var states: [String: RuleState]
}

public struct ExpectedDecision: Sendable, Hashable, CustomStringConvertible {
    public var rule: String
    public var action: DecisionAction
    public var connEvictRate: Int?
    public var donors: [String]?
    public var recipients: [String]?

    public var description: String {
        var text = "\(action.rawValue) by \(rule)"
        if let connEvictRate { text += " connEvictRate=\(connEvictRate)" }
        if let donors { text += " donors=\(donors)" }
        if let recipients { text += " recipients=\(recipients)" }
        return text
    }
}

public struct ExpectedWhyNot: Sendable, Hashable, CustomStringConvertible {
    public var reason: BlockReason?
    /// A substring the detail must contain.
    public var detail: String?

    public var description: String {
        guard let reason else { return "none" }
        return detail.map { "\(reason.rawValue) (containing \"\($0)\")" } ?? reason.rawValue
    }
}
