import Act
import AutorebalancerCore
import Foundation

/// One metric source's attempt in one cycle.
public struct SourceAttempt: Sendable, Hashable {
    public var source: String
    public var duration: Duration
    /// `nil` when the source answered.
    public var error: String?
    public var warnings: [String]

    public init(source: String, duration: Duration, error: String? = nil, warnings: [String] = []) {
        self.source = source
        self.duration = duration
        self.error = error
        self.warnings = warnings
    }
}

/// One policy's evaluation of one cluster in one cycle.
public struct PolicyOutcome: Sendable, Hashable {
    public var policy: String
    public var result: EngineResult
    /// The thresholds EMQX would stop at for the policy's first rebalance rule (its strategy, CRD defaults applied):
    /// what "balanced" means for this cluster in metrics and alerts.
    public var fixConnections: BalanceThreshold?
    public var fixSessions: BalanceThreshold?

    public init(
        policy: String,
        result: EngineResult,
        fixConnections: BalanceThreshold? = nil,
        fixSessions: BalanceThreshold? = nil
    ) {
        self.policy = policy
        self.result = result
        self.fixConnections = fixConnections
        self.fixSessions = fixSessions
    }

    /// The outcome of `policy` (its first rebalance rule's strategy gives the fix thresholds).
    public init(policy: Policy, result: EngineResult) {
        let rule = policy.rules.first { $0.action == .rebalance } ?? policy.rules.first
        self.init(
            policy: policy.identifier,
            result: result,
            fixConnections: rule?.strategy.effectiveConnectionThreshold,
            fixSessions: rule?.strategy.effectiveSessionThreshold
        )
    }
}

/// Everything that happened to one cluster in one cycle: the loop's output, which metrics, logs, alerts, `--once` and
/// the demo read. A value: reporting never feeds back into deciding.
public struct ClusterCycleReport: Sendable {
    public var cluster: ClusterReference
    public var at: Date
    /// `nil` when the cluster could not be read at all (see `errors`).
    public var snapshot: ClusterSnapshot?
    public var history: ActionHistory?
    /// Source attempts in fallback order; the last one that succeeded supplied the snapshot's nodes.
    public var sources: [SourceAttempt]
    public var policies: [PolicyOutcome]
    /// What the actuator did with this cycle's rebalance decision, if any.
    public var action: ActionReport?
    public var follow: [FollowReport]
    /// Human notes from reading the EMQX object (why scaling-in, why upgrading).
    public var notes: [String]
    /// Which operator generation serves the cluster, the version its object is read at and how the agent acts on it;
    /// `nil` when the object could not be read.
    public var plan: ClusterPlan?
    /// The EMQX versions the nodes report.
    public var emqxVersions: [String]
    /// Failures of this cycle, worded for a person (Kubernetes unreachable, every source failed, a write failed).
    public var errors: [String]

    public init(cluster: ClusterReference, at: Date) {
        self.cluster = cluster
        self.at = at
        self.sources = []
        self.policies = []
        self.follow = []
        self.notes = []
        self.emqxVersions = []
        self.errors = []
    }

    /// The one line per cluster the start-up log and `run --once` print (see `ClusterPlan.line`).
    public func planLine(sources: [String]) -> String? {
        plan?.line(emqxVersions: emqxVersions, sources: sources)
    }

    /// Every decision (rebalance or alert) of every policy.
    public var decisions: [DecisionRecord] { policies.flatMap(\.result.decisions) }

    /// Every rule evaluation of every policy.
    public var evaluations: [RuleEvaluation] { policies.flatMap(\.result.evaluations) }

    /// `true` when at least one source answered.
    public var observed: Bool { sources.contains { $0.error == nil } }
}

/// One whole cycle over every watched cluster.
public struct TickReport: Sendable {
    public var at: Date
    public var duration: Duration
    public var clusters: [ClusterCycleReport]
    /// Failures not tied to one cluster (resolving a label selector).
    public var errors: [String]
    /// This cycle wrote nothing (dry run).
    public var dryRun: Bool

    public init(
        at: Date,
        duration: Duration,
        clusters: [ClusterCycleReport],
        errors: [String] = [],
        dryRun: Bool = false
    ) {
        self.at = at
        self.duration = duration
        self.clusters = clusters
        self.errors = errors
        self.dryRun = dryRun
    }
}

/// Consumes cycle reports: metrics, logs, alerts, the demo's display. Must not block for long.
public protocol TickReportSink: Sendable {
    func publish(_ report: TickReport) async
}
