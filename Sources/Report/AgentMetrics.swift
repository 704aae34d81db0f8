import AutorebalancerCore
import Foundation
import Prometheus
import Synchronization

/// The agent's own Prometheus metrics (prefix `emqx_autorebalancer_`): counters and histograms registered with HELP
/// text on a `PrometheusCollectorRegistry`, gauges in a ``GaugeTable`` written in the same format.
///
/// Every family shows its HELP and TYPE from start-up, even a labeled family with no series yet (``render()`` adds
/// the header of families without series). Unknown values remove their series instead of
/// writing 0: missing data is never zero.
///
/// The families are declared here (``families``) with the calls that set their series; the agent's `MetricsSink`
/// (module Agent, beside the loop's report it reads) is the one place that says which part of a cycle feeds which
/// call.
public final class AgentMetrics: Sendable {
    public static let prefix = "emqx_autorebalancer_"

    /// The rule states `rule_state` has one series each for: the one vocabulary (`RuleState`).
    public static let ruleStates = RuleState.allCases.map(\.rawValue)

    /// Buckets (seconds) of the duration histograms.
    public static let durationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    /// Every family, in documentation order.
    public static let families: [AgentMetricFamily] = [
        .init(
            prefix + "build_info",
            .gauge,
            labels: ["version"],
            help: "Always 1; the version label says which build runs."
        ),
        .init(
            prefix + "leader",
            .gauge,
            help:
                "1 when this replica holds the leader Lease (or leader election is off), else 0; dry_run says whether it writes."
        ),
        .init(
            prefix + "dry_run",
            .gauge,
            help: "1 while this replica writes nothing (dry run from the configuration or the command line), else 0."
        ),
        .init(
            prefix + "shard_owned",
            .gauge,
            labels: ["shard"],
            help:
                "1 for each shard whose Lease this replica holds (it writes for that shard's clusters), 0 for the others; one shard without sharding."
        ),
        .init(
            prefix + "cluster_owned",
            .gauge,
            labels: ["cluster"],
            help:
                "1 when this replica writes for the cluster (it holds its shard's Lease), 0 when another replica does."
        ),
        .init(
            prefix + "node_connections",
            .gauge,
            labels: ["cluster", "node"],
            help: "Live connections observed on an EMQX node (absent when unknown)."
        ),
        .init(
            prefix + "node_sessions",
            .gauge,
            labels: ["cluster", "node"],
            help: "Sessions observed on an EMQX node (absent when unknown)."
        ),
        .init(
            prefix + "donor_average_connections",
            .gauge,
            labels: ["cluster"],
            help: "Mean live connections of the donor nodes, as EMQX's balance formula partitions them."
        ),
        .init(
            prefix + "recipient_average_connections",
            .gauge,
            labels: ["cluster"],
            help: "Mean live connections of the recipient nodes."
        ),
        .init(
            prefix + "donor_average_sessions",
            .gauge,
            labels: ["cluster"],
            help: "Mean sessions of the donor nodes."
        ),
        .init(
            prefix + "recipient_average_sessions",
            .gauge,
            labels: ["cluster"],
            help: "Mean sessions of the recipient nodes."
        ),
        .init(
            prefix + "threshold_excess_connections",
            .gauge,
            labels: ["cluster", "rule", "threshold"],
            help:
                "avg(donors) minus the rule's connection threshold bound (abs: avg(recipients)+abs, rel: avg(recipients)*rel); above 0 means that inequality fails."
        ),
        .init(
            prefix + "threshold_excess_sessions",
            .gauge,
            labels: ["cluster", "rule", "threshold"],
            help: "avg(donors) minus the rule's session threshold bound; above 0 means that inequality fails."
        ),
        .init(
            prefix + "cluster_imbalanced",
            .gauge,
            labels: ["cluster"],
            help: "1 when EMQX's balance formula at the strategy thresholds says the cluster is imbalanced, else 0."
        ),
        .init(
            prefix + "rule_state",
            .gauge,
            labels: ["cluster", "rule", "state"],
            help: "1 for the rule's current engine state, 0 for the others."
        ),
        .init(
            prefix + "rebalances_created_total",
            .counter,
            labels: ["cluster", "rule"],
            help: "Rebalance resources created."
        ),
        .init(
            prefix + "actions_failed_total",
            .counter,
            labels: ["cluster", "rule", "reason"],
            help:
                "Attempts to create a decided Rebalance that failed, by failure class (forbidden, invalid, unavailable, ...)."
        ),
        .init(
            prefix + "rebalances_completed_total",
            .counter,
            labels: ["cluster", "outcome"],
            help: "Rebalances that finished, by judged outcome."
        ),
        .init(
            prefix + "rebalances_failed_total",
            .counter,
            labels: ["cluster", "reason"],
            help: "Rebalances that failed, by reason."
        ),
        .init(
            prefix + "rebalances_ineffective_total",
            .counter,
            labels: ["cluster"],
            help: "Rebalances that completed without restoring balance."
        ),
        .init(
            prefix + "decisions_blocked_total",
            .counter,
            labels: ["cluster", "rule", "reason"],
            help: "Evaluations in which a rule wanted to act but a gate held it back, by reason."
        ),
        .init(
            prefix + "blocked_duration_seconds",
            .gauge,
            labels: ["cluster", "rule"],
            help: "How long the rule has been held back continuously; 0 when not blocked."
        ),
        .init(
            prefix + "rebalance_in_progress",
            .gauge,
            labels: ["cluster"],
            help: "1 while a Rebalance is running on the cluster, else 0."
        ),
        .init(
            prefix + "rebalance_processing_duration_seconds",
            .gauge,
            labels: ["cluster"],
            help: "Age of the running Rebalance; 0 when none runs."
        ),
        .init(
            prefix + "source_errors_total",
            .counter,
            labels: ["cluster", "source"],
            help: "Failed observations of a cluster by a metric source."
        ),
        .init(
            prefix + "source_duration_seconds",
            .histogram,
            labels: ["source"],
            help: "Time one observation by a metric source took."
        ),
        .init(
            prefix + "source_up",
            .gauge,
            labels: ["cluster", "source"],
            help: "1 when the last observation of the cluster by the source succeeded, else 0."
        ),
        .init(
            prefix + "evaluation_duration_seconds",
            .histogram,
            help: "Time one evaluation cycle over all clusters took."
        ),
        .init(
            prefix + "last_evaluation_timestamp_seconds",
            .gauge,
            help: "Unix time of the last completed evaluation cycle."
        ),
        .init(
            prefix + "config_reloads_total",
            .counter,
            labels: ["result"],
            help: "Configuration and policy reloads, by result (success or failure)."
        ),
        .init(
            prefix + "config_last_reload_successful",
            .gauge,
            help:
                "1 when the last configuration reload succeeded, 0 when the last good configuration stays active after a failure."
        ),
        .init(
            prefix + "alerts_sent_total",
            .counter,
            labels: ["receiver", "result"],
            help: "Alert and notification deliveries, by receiver and result (success or failure)."
        ),
        .init(
            prefix + "notifications_dropped_total",
            .counter,
            labels: ["receiver"],
            help: "Notifications dropped because the receiver's queue was full (the oldest is dropped)."
        ),
    ]

    public let registry: PrometheusCollectorRegistry
    /// The gauge families' series (the registry holds the counters and histograms).
    private let gauges = GaugeTable()
    private static let gaugeFamilies = families.filter { $0.kind == .gauge }.map { (name: $0.name, help: $0.help) }
    private let byName: [String: AgentMetricFamily]
    private let state = Mutex(SeriesState())

    private struct SeriesState {
        /// Nodes with series per cluster, to drop series of nodes that left.
        var nodes: [String: Set<String>] = [:]
        /// Since when each (cluster, rule) has been blocked.
        var blockedSince: [String: Date] = [:]
        /// Rules with series per cluster, and the reason labels each rule's counters carry, to drop the series of
        /// rules that no longer exist.
        var rules: [String: Set<String>] = [:]
        var ruleReasons: [String: Set<RuleReason>] = [:]
        var shardCount = 0
    }

    private struct RuleReason: Hashable {
        var family: String
        var reason: String
    }

    /// Registers every family; series without labels (and the `config_reloads_total` results) start at 0.
    public init(version: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.byName = Dictionary(uniqueKeysWithValues: Self.families.map { ($0.name, $0) })
        setGauge("build_info", ["version": version], 1.0)
        setGauge("leader", [:], 0.0)
        setGauge("dry_run", [:], 0.0)
        _ = histogram("evaluation_duration_seconds")
        setGauge("config_last_reload_successful", [:], 1.0)
        _ = counter("config_reloads_total", ["result": "success"])
        _ = counter("config_reloads_total", ["result": "failure"])
    }

    // MARK: Exposition

    /// The text exposition (version 0.0.4) of every family, headers of empty families included: the gauges in
    /// documentation order, then the registry's counters and histograms.
    public func render() -> String {
        var text = ""
        gauges.emit(Self.gaugeFamilies, into: &text)
        let registered = registry.emitToString()
        text += registered
        for family in Self.families where family.kind != .gauge && !registered.contains("# TYPE \(family.name) ") {
            text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.kind.rawValue)\n"
        }
        return text
    }

    // MARK: Recording

    public func setLeader(_ isLeader: Bool) {
        setGauge("leader", [:], isLeader ? 1.0 : 0.0)
    }

    /// `shard_owned` for every shard (series of shards beyond `count` are dropped after a change of count).
    public func setShards(count: Int, owned: Set<Int>) {
        let previous = state.withLock { state -> Int in
            defer { state.shardCount = count }
            return state.shardCount
        }
        for shard in max(count, 0)..<max(previous, count) { removeGauge("shard_owned", ["shard": String(shard)]) }
        for shard in 0..<max(count, 0) {
            setGauge("shard_owned", ["shard": String(shard)], owned.contains(shard) ? 1.0 : 0.0)
        }
    }

    public func setClusterOwned(_ cluster: String, _ owned: Bool) {
        setGauge("cluster_owned", ["cluster": cluster], owned ? 1.0 : 0.0)
    }

    public func setDryRun(_ dryRun: Bool) {
        setGauge("dry_run", [:], dryRun ? 1.0 : 0.0)
    }

    /// Sets the per-node gauges of one cluster; nodes no longer reported lose their series, unknown counts too.
    public func recordObservation(cluster: String, nodes: [NodeObservation]) {
        let names = Set(nodes.map(\.name))
        let gone = state.withLock { state in
            let previous = state.nodes[cluster] ?? []
            state.nodes[cluster] = names
            return previous.subtracting(names)
        }
        for node in gone {
            removeGauge("node_connections", ["cluster": cluster, "node": node])
            removeGauge("node_sessions", ["cluster": cluster, "node": node])
        }
        for node in nodes {
            setOrRemove("node_connections", ["cluster": cluster, "node": node.name], node.liveConnections)
            setOrRemove("node_sessions", ["cluster": cluster, "node": node.name], node.sessions)
        }
    }

    /// Donor and recipient averages and `cluster_imbalanced`, from EMQX's formula at the strategy thresholds.
    /// `nil` evaluations (not enough data) remove the series.
    public func recordBalance(cluster: String, connections: BalanceEvaluation?, sessions: BalanceEvaluation?) {
        setOrRemove("donor_average_connections", ["cluster": cluster], connections?.donorAverage)
        setOrRemove("recipient_average_connections", ["cluster": cluster], connections?.recipientAverage)
        setOrRemove("donor_average_sessions", ["cluster": cluster], sessions?.donorAverage)
        setOrRemove("recipient_average_sessions", ["cluster": cluster], sessions?.recipientAverage)
        let verdicts = [connections?.verdict, sessions?.verdict].compactMap { $0 }
        // EMQX starts a rebalance when either quantity fails both inequalities.
        setOrRemove(
            "cluster_imbalanced",
            ["cluster": cluster],
            verdicts.isEmpty ? nil : (verdicts.contains(.imbalanced) ? 1 : 0)
        )
    }

    /// The distance of avg(donors) to each threshold bound of one rule (`abs` and `rel`).
    public func recordThresholdExcess(
        cluster: String,
        rule: String,
        connections: BalanceEvaluation?,
        sessions: BalanceEvaluation?
    ) {
        for (name, evaluation) in [
            ("threshold_excess_connections", connections), ("threshold_excess_sessions", sessions),
        ] {
            setOrRemove(name, ["cluster": cluster, "rule": rule, "threshold": "abs"], evaluation?.absoluteExcess)
            setOrRemove(name, ["cluster": cluster, "rule": rule, "threshold": "rel"], evaluation?.relativeExcess)
        }
    }

    /// Sets `rule_state`: 1 for `state`, 0 for the others.
    public func setRuleState(cluster: String, rule: String, state current: RuleState) {
        for state in RuleState.allCases {
            setGauge(
                "rule_state",
                ["cluster": cluster, "rule": rule, "state": state.rawValue],
                state == current ? 1.0 : 0.0
            )
        }
    }

    public func recordRebalanceCreated(cluster: String, rule: String) {
        counter("rebalances_created_total", ["cluster": cluster, "rule": rule]).increment()
    }

    /// A create that failed; `reason` is the failure class.
    public func recordActionFailed(cluster: String, rule: String, reason: String) {
        remember(cluster: cluster, rule: rule, family: "actions_failed_total", reason: reason)
        counter("actions_failed_total", ["cluster": cluster, "rule": rule, "reason": reason]).increment()
    }

    /// `outcome` is the judged outcome's raw value: `balanced`, `improved`, `ineffective` or `nothing-to-balance`.
    public func recordRebalanceCompleted(cluster: String, outcome: String) {
        counter("rebalances_completed_total", ["cluster": cluster, "outcome": outcome]).increment()
    }

    public func recordRebalanceFailed(cluster: String, reason: String) {
        counter("rebalances_failed_total", ["cluster": cluster, "reason": reason]).increment()
    }

    public func recordRebalanceIneffective(cluster: String) {
        counter("rebalances_ineffective_total", ["cluster": cluster]).increment()
    }

    /// Counts a blocked decision and keeps `blocked_duration_seconds` growing from the first blocked instant.
    public func recordBlocked(cluster: String, rule: String, reason: BlockReason, at time: Date) {
        remember(cluster: cluster, rule: rule, family: "decisions_blocked_total", reason: reason.rawValue)
        counter("decisions_blocked_total", ["cluster": cluster, "rule": rule, "reason": reason.rawValue]).increment()
        let since = state.withLock { state in
            let key = cluster + "\u{0}" + rule
            if let since = state.blockedSince[key] { return since }
            state.blockedSince[key] = time
            return time
        }
        setGauge("blocked_duration_seconds", ["cluster": cluster, "rule": rule], max(0, time.timeIntervalSince(since)))
    }

    /// A rule that is not blocked (acted, or had nothing to do): its blocked duration returns to 0.
    public func recordNotBlocked(cluster: String, rule: String) {
        _ = state.withLock { $0.blockedSince.removeValue(forKey: cluster + "\u{0}" + rule) }
        setGauge("blocked_duration_seconds", ["cluster": cluster, "rule": rule], 0.0)
    }

    /// `startedAt` of the running Rebalance, `nil` when none runs.
    public func recordRebalanceProgress(cluster: String, startedAt: Date?, now: Date) {
        setGauge("rebalance_in_progress", ["cluster": cluster], startedAt == nil ? 0.0 : 1.0)
        setGauge(
            "rebalance_processing_duration_seconds",
            ["cluster": cluster],
            startedAt.map { max(0, now.timeIntervalSince($0)) } ?? 0
        )
    }

    /// One observation by a source: its duration, and up/error accounting.
    public func recordSourceObservation(cluster: String, source: String, succeeded: Bool, duration: Duration) {
        histogram("source_duration_seconds", ["source": source]).record(duration.seconds)
        setGauge("source_up", ["cluster": cluster, "source": source], succeeded ? 1.0 : 0.0)
        let errors = counter("source_errors_total", ["cluster": cluster, "source": source])
        if !succeeded { errors.increment() }
    }

    /// One completed evaluation cycle.
    public func recordEvaluation(duration: Duration, completedAt: Date) {
        histogram("evaluation_duration_seconds").record(duration.seconds)
        setGauge("last_evaluation_timestamp_seconds", [:], completedAt.timeIntervalSince1970)
    }

    public func recordConfigReload(succeeded: Bool) {
        counter("config_reloads_total", ["result": succeeded ? "success" : "failure"]).increment()
        setGauge("config_last_reload_successful", [:], succeeded ? 1.0 : 0.0)
    }

    public func recordAlertSent(receiver: String, succeeded: Bool) {
        counter("alerts_sent_total", ["receiver": receiver, "result": succeeded ? "success" : "failure"]).increment()
    }

    public func recordNotificationDropped(receiver: String) {
        counter("notifications_dropped_total", ["receiver": receiver]).increment()
    }

    /// Keeps the per-rule series of `rules` on `cluster` and drops those of every other rule (removed or renamed by
    /// a reload): `rule_state`, the threshold excesses, the blocked duration and the per-rule counters.
    public func keepRules(_ rules: Set<String>, on cluster: String) {
        let gone = state.withLock { state -> [(String, Set<RuleReason>)] in
            let previous = state.rules[cluster] ?? []
            state.rules[cluster] = rules
            return previous.subtracting(rules).map { rule in
                state.blockedSince.removeValue(forKey: cluster + "\u{0}" + rule)
                return (rule, state.ruleReasons.removeValue(forKey: cluster + "\u{0}" + rule) ?? [])
            }
        }
        for (rule, reasons) in gone {
            let labels = ["cluster": cluster, "rule": rule]
            for state in RuleState.allCases {
                removeGauge("rule_state", labels.merging(["state": state.rawValue]) { $1 })
            }
            for name in ["threshold_excess_connections", "threshold_excess_sessions"] {
                for threshold in ["abs", "rel"] { removeGauge(name, labels.merging(["threshold": threshold]) { $1 }) }
            }
            removeGauge("blocked_duration_seconds", labels)
            removeCounter("rebalances_created_total", labels)
            for reason in reasons {
                removeCounter(reason.family, labels.merging(["reason": reason.reason]) { $1 })
            }
        }
    }

    private func remember(cluster: String, rule: String, family: String, reason: String) {
        _ = state.withLock {
            $0.ruleReasons[cluster + "\u{0}" + rule, default: []].insert(RuleReason(family: family, reason: reason))
        }
    }

    /// Drops the per-node and per-rule series of a cluster no longer watched.
    public func forgetCluster(_ cluster: String) {
        keepRules([], on: cluster)
        let nodes = state.withLock { $0.nodes.removeValue(forKey: cluster) ?? [] }
        for node in nodes {
            removeGauge("node_connections", ["cluster": cluster, "node": node])
            removeGauge("node_sessions", ["cluster": cluster, "node": node])
        }
        for name in [
            "donor_average_connections", "recipient_average_connections", "donor_average_sessions",
            "recipient_average_sessions", "cluster_imbalanced", "rebalance_in_progress",
            "rebalance_processing_duration_seconds", "cluster_owned",
        ] {
            removeGauge(name, ["cluster": cluster])
        }
    }

    // MARK: Registry access

    private func family(_ shortName: String, _ labels: [String: String]) -> (String, [(String, String)], String) {
        let name = Self.prefix + shortName
        guard let family = byName[name] else {
            preconditionFailure("metric \(name) is not declared in AgentMetrics.families")
        }
        // Always the declared order: a series is keyed by the ordered label list.
        let pairs = family.labels.compactMap { label in labels[label].map { (label, $0) } }
        precondition(
            pairs.count == labels.count && pairs.count == family.labels.count,
            "metric \(name) takes labels \(family.labels), got \(labels.keys.sorted())"
        )
        return (name, pairs, family.help)
    }

    private func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// One series of one family, as the recording methods name it.
    private struct SeriesKey: Hashable {
        var family: String
        var labels: [String: String]
    }

    /// The counters and histograms made so far: the registry is asked (and the family and labels checked) once per
    /// series, not on every update. Gauges, the thousands a cycle sets, are kept in ``gauges`` instead.
    private struct Series {
        var counters: [SeriesKey: Counter] = [:]
        var histograms: [SeriesKey: ValueHistogram] = [:]
    }

    private let series = Mutex(Series())

    private func setGauge(_ shortName: String, _ labels: [String: String], _ value: Double) {
        let (name, pairs, _) = family(shortName, labels)
        gauges.set(name, pairs, to: value)
    }

    private func counter(_ shortName: String, _ labels: [String: String] = [:]) -> Counter {
        let key = SeriesKey(family: shortName, labels: labels)
        if let made = series.withLock({ $0.counters[key] }) { return made }
        let (name, pairs, help) = family(shortName, labels)
        let made = registry.makeCounter(descriptor: descriptor(name, help), labels: pairs)
        series.withLock { $0.counters[key] = made }
        return made
    }

    private func histogram(_ shortName: String, _ labels: [String: String] = [:]) -> ValueHistogram {
        let key = SeriesKey(family: shortName, labels: labels)
        if let made = series.withLock({ $0.histograms[key] }) { return made }
        let (name, pairs, help) = family(shortName, labels)
        let made = registry.makeValueHistogram(
            descriptor: descriptor(name, help),
            labels: pairs,
            buckets: Self.durationBuckets
        )
        series.withLock { $0.histograms[key] = made }
        return made
    }

    private func setOrRemove(_ shortName: String, _ labels: [String: String], _ value: Double?) {
        if let value, !value.isNaN {
            setGauge(shortName, labels, value)
        } else {
            removeGauge(shortName, labels)
        }
    }

    private func removeGauge(_ shortName: String, _ labels: [String: String]) {
        let (name, pairs, _) = family(shortName, labels)
        gauges.remove(name, pairs)
    }

    private func removeCounter(_ shortName: String, _ labels: [String: String]) {
        guard
            let made = series.withLock({ $0.counters.removeValue(forKey: SeriesKey(family: shortName, labels: labels)) }
            )
        else { return }
        registry.unregisterCounter(made)
    }
}
