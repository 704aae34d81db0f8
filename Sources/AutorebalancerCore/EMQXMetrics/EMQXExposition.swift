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
    public static func nodes(from document: ExpositionDocument, scrapedNode: String?, observedAt: Date?) -> [NodeObservation] {
        var byNode: [String: NodeObservation] = [:]

        func record(_ metric: String, _ assign: (inout NodeObservation, Double) -> Void) {
            guard let family = document.family(named: metric) else { return }
            let sampleNames: Set<String> = family.type == .counter ? [metric, metric + "_total"] : [metric]
            for sample in family.samples where sampleNames.contains(sample.name) {
                // Series split by other labels (none are today) are not one node's total; leave them out.
                guard sample.labels.allSatisfy({ $0.name == "node" }) else { continue }
                guard let node = sample.label("node") ?? scrapedNode else { continue }
                var observation = byNode[node] ?? NodeObservation(name: node, running: true, observedAt: observedAt)
                // EMQX writes `undefined` as NaN: the node answered but does not know the number.
                if !sample.value.isNaN { assign(&observation, sample.value) }
                byNode[node] = observation
            }
        }

        record(liveConnectionsMetric) { $0.liveConnections = $1 }
        record(connectionsMetric) { $0.connections = $1 }
        record(sessionsMetric) { $0.sessions = $1 }
        record(restartCounterMetric) { $0.restartCounter = $1 }
        record(wallclockMetric) { $0.uptimeSeconds = $1 / 1000 }
        record(uptimeMetric) { $0.uptimeSeconds = $1 / 1000 }

        return byNode.values.sorted { $0.name < $1.name }
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
