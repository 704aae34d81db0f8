import Foundation

/// Reads per-node counts out of one EMQX Prometheus scrape body
/// (`/api/v5/prometheus/stats`, `/api/v4/emqx_prometheus?type=prometheus`).
///
/// Three shapes are understood:
/// - EMQX 5 `mode=node` (the default): no `node` label; every sample is about the scraped node, whose name the caller
///   supplies (the scrape target).
/// - EMQX 5 `mode=all_nodes_unaggregated`: per-node series carry a `node` label; each labelled node becomes one
///   observation. Unlabelled series there are cluster-wide and are not attributed to any node.
/// - EMQX 4.4: `# TYPE` lines only, no labels; like node mode.
///
/// Do not feed `mode=all_nodes_aggregated` bodies: their unlabelled numbers are cluster sums, indistinguishable from
/// one node's numbers.
public enum EMQXExposition {
    /// `emqx_live_connections_count`: connected clients, what EMQX partitions donors and recipients by.
    public static let liveConnectionsMetric = "emqx_live_connections_count"
    /// `emqx_connections_count`: channels held by a connection process.
    public static let connectionsMetric = "emqx_connections_count"
    /// `emqx_sessions_count`: all sessions on the node.
    public static let sessionsMetric = "emqx_sessions_count"
    /// `emqx_client_connected`: a counter of CONNECTs accepted since the node started; it resets when the node restarts.
    public static let restartCounterMetric = "emqx_client_connected"
    /// EMQX 4.4 (prometheus.erl VM collector): milliseconds since the Erlang VM started.
    public static let wallclockMetric = "erlang_vm_statistics_wallclock_time_milliseconds"
    /// EMQX 6.x: milliseconds since the node started.
    public static let uptimeMetric = "emqx_vm_uptime_ms"

    /// One observation per node the body speaks about, sorted by node name.
    ///
    /// - Parameters:
    ///   - document: the parsed body.
    ///   - scrapedNode: the EMQX node name of the scrape target; unlabelled per-node samples are attributed to it.
    ///     When `nil`, only samples with a `node` label are used.
    ///   - observedAt: when the scrape happened; copied into every observation.
    /// - Returns: observations with `running == true` (a node that answered is running). A metric absent from the body
    ///   leaves its field `nil` (unknown), never zero.
    public static func nodes(
        from document: ExpositionDocument,
        scrapedNode: String?,
        observedAt: Date?
    ) -> [NodeObservation] {
        read(document, scrapedNode: scrapedNode, observedAt: observedAt).nodes
    }

    /// What one body says about its nodes, and what in it cannot be used.
    public struct Reading: Sendable, Hashable {
        /// One observation per node, sorted by name; a number that cannot be used is `nil` (unknown).
        public var nodes: [NodeObservation]
        /// Numbers that were not used, one line each naming the metric, the node and the value (a NaN, a negative or
        /// implausible count: ``SampleCheck``).
        public var problems: [String]
        /// Series that appear more than once for one node: the body contradicts itself, so nothing of that node can
        /// be trusted.
        public var duplicates: [String]
    }

    /// Reads the per-node numbers of a body; every value passes ``SampleCheck``.
    public static func read(_ document: ExpositionDocument, scrapedNode: String?, observedAt: Date?) -> Reading {
        var byNode: [String: NodeObservation] = [:]
        var problems: [String] = []
        var duplicates: [String] = []

        func record(
            _ metric: String,
            _ quantity: SampleCheck.Quantity,
            scale: Double = 1,
            _ field: WritableKeyPath<NodeObservation, Double?>
        ) {
            guard let family = document.family(named: metric) else { return }
            let sampleNames: Set<String> = family.type == .counter ? [metric, metric + "_total"] : [metric]
            var seen: Set<String> = []
            for sample in family.samples where sampleNames.contains(sample.name) {
                // Series split by other labels (none are today) are not one node's total; leave them out.
                guard sample.labels.allSatisfy({ $0.name == "node" }) else { continue }
                guard let node = sample.label("node") ?? scrapedNode else { continue }
                var observation = byNode[node] ?? NodeObservation(name: node, running: true, observedAt: observedAt)
                if !seen.insert(node).inserted {
                    duplicates.append("\(metric) appears more than once for node \(node)")
                    observation[keyPath: field] = nil
                    byNode[node] = observation
                    continue
                }
                // EMQX writes `undefined` as NaN: the node answered but does not know the number. A scaled value
                // (milliseconds of uptime) is checked in the unit it is kept in.
                let value = sample.value / scale
                if let problem = SampleCheck.problem(with: value, as: quantity) {
                    if !sample.value.isNaN {
                        let unit = scale == 1 ? "" : " (\(SampleCheck.describe(value)) s)"
                        problems.append(
                            "node \(node): \(metric) \(SampleCheck.describe(sample.value))\(unit) \(problem)"
                        )
                    }
                } else {
                    observation[keyPath: field] = value
                }
                byNode[node] = observation
            }
        }

        record(liveConnectionsMetric, .count, \.liveConnections)
        record(connectionsMetric, .count, \.connections)
        record(sessionsMetric, .count, \.sessions)
        record(restartCounterMetric, .counter, \.restartCounter)
        // Milliseconds, kept and checked as seconds of uptime.
        record(wallclockMetric, .uptime, scale: 1000, \.uptimeSeconds)
        record(uptimeMetric, .uptime, scale: 1000, \.uptimeSeconds)

        return Reading(nodes: byNode.values.sorted { $0.name < $1.name }, problems: problems, duplicates: duplicates)
    }

    /// The cluster membership counts in the body (`emqx_cluster_nodes_running`, `emqx_cluster_nodes_stopped`).
    public static func cluster(from document: ExpositionDocument) -> EMQXClusterCounts {
        var consistent = true
        func largest(_ metric: String) -> Double? {
            guard let family = document.family(named: metric) else { return nil }
            let values = family.samples.filter { $0.name == metric && !$0.value.isNaN }.map(\.value)
            if Set(values).count > 1 { consistent = false }
            return values.max()
        }
        let running = largest("emqx_cluster_nodes_running")
        let stopped = largest("emqx_cluster_nodes_stopped")
        return EMQXClusterCounts(nodesRunning: running, nodesStopped: stopped, isConsistent: consistent)
    }
}
