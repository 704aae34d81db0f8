import AutorebalancerCore
import Foundation

/// A cluster's recorded per-node counts, as `backtest` replays them.
public struct PrometheusHistory: Sendable, Hashable {
    public var connections: [BacktestSeries]
    /// `nil` when the sessions query matched nothing (session thresholds are then skipped; `warnings` says so).
    public var sessions: [BacktestSeries]?
    public var warnings: [String]
}

/// What `backtest` fetches: a cluster's recorded history, over ranges longer than one query may ask for.
extension PrometheusSource {
    /// The live connections and sessions of `cluster` over `range`, one series per node (nodes named by
    /// `nodeLabel`, else the first of node, pod, instance the series carry). Errors name the URL and query.
    public func history(
        of cluster: ClusterReference,
        over range: BacktestRange,
        nodeLabel: String?
    ) async throws(BacktestInputError) -> PrometheusHistory {
        let queries = historyQueries(for: cluster)
        func fetch(_ query: String) async throws(BacktestInputError) -> (matrix: [PrometheusMatrixSeries], name: String)
        {
            let name = "\(configuration.baseURL) query_range \(query)"
            do {
                return (try await queryRange(query: query, over: range), name)
            } catch {
                throw BacktestInputError(file: name, "\(error)")
            }
        }
        let connections = try await fetch(queries.connections)
        let connectionSeries = try BacktestMatrix.series(
            from: connections.matrix,
            file: connections.name,
            nodeLabel: nodeLabel
        )
        let sessions = try await fetch(queries.sessions)
        guard !sessions.matrix.isEmpty else {
            let warning = "the sessions query matched nothing (\(queries.sessions)); session thresholds are skipped"
            return PrometheusHistory(connections: connectionSeries, sessions: nil, warnings: [warning])
        }
        let sessionSeries = try BacktestMatrix.series(from: sessions.matrix, file: sessions.name, nodeLabel: nodeLabel)
        try BacktestMatrix.checkSameNodes(
            connections: connectionSeries,
            connectionsFile: connections.name,
            sessions: sessionSeries,
            sessionsFile: sessions.name
        )
        return PrometheusHistory(connections: connectionSeries, sessions: sessionSeries, warnings: [])
    }

    /// Points per series one range query asks for: Prometheus refuses more than 11,000 ("exceeded maximum
    /// resolution of 11,000 points per timeseries").
    public static let pointsPerRangeQuery = 10_000

    /// The live-connections and sessions queries of `cluster`, rendered as the loop renders them.
    public func historyQueries(for cluster: ClusterReference) -> (connections: String, sessions: String) {
        let selector = configuration.selector.selector(for: cluster)
        let label = configuration.nodeLabel
        let queries = configuration.queries
        let defaults = PrometheusQueries.emqxDefault
        return (
            PrometheusQueries.render(
                queries.liveConnections ?? defaults.liveConnections ?? "",
                selector: selector,
                label: label
            ),
            PrometheusQueries.render(queries.sessions ?? defaults.sessions ?? "", selector: selector, label: label)
        )
    }

    /// Runs `query` over all of `range`: one range query per `pointsPerQuery` points, consecutive and not
    /// overlapping, the answers joined per series (series in the order they first appear).
    public func queryRange(
        query: String,
        over range: BacktestRange,
        pointsPerQuery: Int = pointsPerRangeQuery
    ) async throws -> [PrometheusMatrixSeries] {
        // The range is the caller's: an unusable step is clamped rather than trusted with arithmetic.
        let step =
            range.step.isFinite
            ? min(max(range.step, BacktestRunner.minimumStep), DurationText.maximum) : DurationText.maximum
        let points = Double(max(1, pointsPerQuery))
        var merged: [[String: String]: [PrometheusSample]] = [:]
        var order: [[String: String]] = []
        var chunkStart = range.start
        while chunkStart <= range.end {
            let chunkEnd = min(range.end, chunkStart.addingTimeInterval((points - 1) * step))
            for series in try await queryRange(query: query, start: chunkStart, end: chunkEnd, step: .seconds(step)) {
                if merged[series.labels] == nil { order.append(series.labels) }
                merged[series.labels, default: []] += series.samples
            }
            chunkStart = chunkEnd.addingTimeInterval(step)
        }
        return order.map { PrometheusMatrixSeries(labels: $0, samples: merged[$0] ?? []) }
    }
}
