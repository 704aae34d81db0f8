import Act
import AutorebalancerCore
import Foundation
import Kubernetes
import Report
import Synchronization

/// Records every cycle in the agent's own metrics and feeds the health probes: the mapping from the loop's
/// `TickReport` to the calls of `AgentMetrics` (Report), where the families and their series are declared. It lives
/// here because the report is the loop's type; Report does not depend on the loop.
public final class MetricsSink: TickReportSink {
    let metrics: AgentMetrics
    let health: AgentHealth?
    let isLeader: @Sendable () -> Bool
    let ownership: (any WriteOwnership)?
    /// The clusters the last report had, to drop the series of clusters no longer watched.
    let clusters = Mutex<Set<String>>([])

    /// - Parameters:
    ///   - isLeader: whether this replica writes now (the Lease holder, or the only replica).
    ///   - ownership: which shards and clusters it writes for (`shard_owned`, `cluster_owned`); `nil`: not shown.
    public init(
        metrics: AgentMetrics,
        health: AgentHealth?,
        isLeader: @escaping @Sendable () -> Bool,
        ownership: (any WriteOwnership)? = nil
    ) {
        self.metrics = metrics
        self.health = health
        self.isLeader = isLeader
        self.ownership = ownership
    }

    public func publish(_ report: TickReport) async {
        metrics.recordEvaluation(duration: report.duration, completedAt: report.at)
        metrics.setLeader(isLeader())
        if let ownership {
            metrics.setShards(count: ownership.shardMap.count, owned: Set(ownership.ownedShards))
            for cluster in report.clusters {
                metrics.setClusterOwned(cluster.cluster.description, ownership.owns(cluster.cluster))
            }
        }
        metrics.setDryRun(report.dryRun)
        health?.heartbeat()
        for cluster in report.clusters { record(cluster) }
        health?.recordCycle(
            .init(
                clusters: report.clusters.count,
                snapshots: report.clusters.filter(\.observed).count,
                problems: report.errors + report.clusters.flatMap(\.errors)
            )
        )
        let current = Set(report.clusters.map(\.cluster.description))
        let gone = clusters.withLock { seen in
            defer { seen = current }
            return seen.subtracting(current)
        }
        for cluster in gone { metrics.forgetCluster(cluster) }
    }

    func record(_ report: ClusterCycleReport) {
        let cluster = report.cluster.description
        for attempt in report.sources {
            metrics.recordSourceObservation(
                cluster: cluster,
                source: attempt.source,
                succeeded: attempt.error == nil,
                duration: attempt.duration
            )
        }
        if let snapshot = report.snapshot {
            metrics.recordObservation(cluster: cluster, nodes: snapshot.rebalancedNodes)
            let fix = report.policies.first { $0.fixConnections != nil }
            let balance = Self.balance(
                snapshot,
                connections: fix?.fixConnections ?? .emqxDefault,
                sessions: fix?.fixSessions ?? .emqxDefault
            )
            metrics.recordBalance(cluster: cluster, connections: balance.connections, sessions: balance.sessions)
        }
        if report.snapshot != nil {
            // Rules removed or renamed by a reload leave /metrics (a cycle cut short keeps them).
            metrics.keepRules(Set(report.evaluations.map(\.rule)), on: cluster)
        }
        for outcome in report.policies {
            for evaluation in outcome.result.evaluations {
                metrics.recordThresholdExcess(
                    cluster: cluster,
                    rule: evaluation.rule,
                    connections: evaluation.connections,
                    sessions: evaluation.sessions
                )
                metrics.setRuleState(cluster: cluster, rule: evaluation.rule, state: evaluation.state)
                if let why = evaluation.whyNot, !why.reason.isQuiet, evaluation.decision == nil {
                    metrics.recordBlocked(cluster: cluster, rule: evaluation.rule, reason: why.reason, at: report.at)
                } else {
                    metrics.recordNotBlocked(cluster: cluster, rule: evaluation.rule)
                }
            }
        }
        if let action = report.action {
            if action.created { metrics.recordRebalanceCreated(cluster: cluster, rule: action.rule) }
            if case .failed(let failure) = action.result {
                metrics.recordActionFailed(cluster: cluster, rule: action.rule, reason: failure.kind.rawValue)
            }
        }
        var processingSince: Date?
        for follow in report.follow {
            if let since = follow.runningSince { processingSince = min(processingSince ?? since, since) }
            // A start whose answer was lost, confirmed now by EMQX: created after all.
            if let late = follow.lateConfirmation { metrics.recordRebalanceCreated(cluster: cluster, rule: late.rule) }
            guard let (_, outcome, _) = follow.recordedOutcome else { continue }
            switch outcome {
            case .balanced, .improved, .nothingToBalance:
                metrics.recordRebalanceCompleted(cluster: cluster, outcome: outcome.rawValue)
            case .ineffective:
                metrics.recordRebalanceCompleted(cluster: cluster, outcome: outcome.rawValue)
                metrics.recordRebalanceIneffective(cluster: cluster)
            case .failed:
                metrics.recordRebalanceFailed(cluster: cluster, reason: "failed")
            }
        }
        metrics.recordRebalanceProgress(cluster: cluster, startedAt: processingSince, now: report.at)
    }

    /// EMQX's formula on the snapshot at the given thresholds; `nil` parts when counts are incomplete.
    static func balance(
        _ snapshot: ClusterSnapshot,
        connections: BalanceThreshold,
        sessions: BalanceThreshold
    ) -> (connections: BalanceEvaluation?, sessions: BalanceEvaluation?) {
        guard let counts = snapshot.completeCounts else { return (nil, nil) }
        return (
            BalanceMath.evaluateConnections(counts, threshold: connections),
            BalanceMath.evaluateSessions(counts, threshold: sessions)
        )
    }
}

/// The ownership of the only replica (leader election off): every shard, every cluster.
struct SoleWriter: WriteOwnership {
    var shardMap: ShardMap { ShardMap(count: 1) }
    func ownsShard(_ shard: Int) -> Bool { true }
    var isLeader: Bool { true }
}
