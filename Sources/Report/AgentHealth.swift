import AutorebalancerCore
import Foundation
import Synchronization

/// What `/healthz` and `/readyz` report: the evaluation loop's heartbeat, whether a configuration is loaded, and
/// whether the last evaluation cycle produced a snapshot. Updated by the agent loop, read by the admin server.
///
/// Ready means "the agent is doing its job": the last cycle observed at least one cluster through some source of its
/// fallback list (or had nothing to watch). A fallback source that is never needed does not hold readiness back, so a
/// rollout or node drain guarded by `maxUnavailable: 0` and a PodDisruptionBudget is not blocked by it.
public final class AgentHealth: Sendable {
    /// The answer of one probe: healthy/ready, or the reasons why not.
    public struct Verdict: Sendable, Hashable {
        public var ok: Bool
        public var reasons: [String]
    }

    /// What one completed cycle showed, as readiness needs it.
    public struct CycleOutcome: Sendable, Hashable {
        /// Clusters the cycle evaluated.
        public var clusters: Int
        /// Clusters whose metrics some source supplied (a snapshot with counts).
        public var snapshots: Int
        /// The cycle's failures, worded for a person (the first few are shown by `/readyz`).
        public var problems: [String]

        public init(clusters: Int, snapshots: Int, problems: [String]) {
            self.clusters = clusters
            self.snapshots = snapshots
            self.problems = problems
        }

        /// A cycle produced a snapshot when it observed a cluster, or had none to watch and nothing failed.
        public var producedSnapshot: Bool { clusters == 0 ? problems.isEmpty : snapshots > 0 }
    }

    private struct State {
        var lastHeartbeat: Date
        var configLoaded = false
        /// `nil` until the first cycle completes.
        var lastCycle: CycleOutcome?
    }

    /// A heartbeat older than this makes `/healthz` fail.
    public let maximumHeartbeatAge: Duration
    private let now: @Sendable () -> Date
    private let state: Mutex<State>

    /// `now` is injected so tests can move time; start-up counts as the first heartbeat.
    public init(maximumHeartbeatAge: Duration, now: @escaping @Sendable () -> Date = { Date() }) {
        self.maximumHeartbeatAge = maximumHeartbeatAge
        self.now = now
        self.state = Mutex(State(lastHeartbeat: now()))
    }

    /// The loop calls this every cycle (and while idle between cycles).
    public func heartbeat() {
        let time = now()
        state.withLock { $0.lastHeartbeat = time }
    }

    public func setConfigLoaded(_ loaded: Bool) {
        state.withLock { $0.configLoaded = loaded }
    }

    /// The loop calls this after every cycle.
    public func recordCycle(_ outcome: CycleOutcome) {
        state.withLock { $0.lastCycle = outcome }
    }

    /// Alive when the last heartbeat is within ``maximumHeartbeatAge``.
    public func liveness() -> Verdict {
        let time = now()
        let last = state.withLock { $0.lastHeartbeat }
        let age = time.timeIntervalSince(last)
        let limit = maximumHeartbeatAge.seconds
        if age > limit {
            return Verdict(
                ok: false,
                reasons: [
                    "evaluation loop stuck: last heartbeat \(Self.format(age.rounded(.down)))s ago, limit \(Self.format(limit))s"
                ]
            )
        }
        return Verdict(ok: true, reasons: [])
    }

    /// Ready when a configuration is loaded and the last cycle produced a snapshot.
    public func readiness() -> Verdict {
        let snapshot = state.withLock { $0 }
        var reasons: [String] = []
        if !snapshot.configLoaded { reasons.append("configuration not loaded yet") }
        if let cycle = snapshot.lastCycle {
            if !cycle.producedSnapshot {
                let shown = cycle.problems.prefix(3)
                let more = cycle.problems.count > shown.count ? " (and \(cycle.problems.count - shown.count) more)" : ""
                reasons.append(
                    "the last evaluation cycle produced no snapshot: \(shown.joined(separator: "; "))\(more)"
                )
            }
        } else {
            reasons.append("no evaluation cycle has completed yet")
        }
        return Verdict(ok: reasons.isEmpty, reasons: reasons)
    }

    private static func format(_ value: Double) -> String {
        BalanceEvaluation.format(value)
    }
}
