import Foundation

/// One node's history of one quantity, from one series of a `query_range` matrix.
public struct BacktestSeries: Sendable, Hashable {
    public var node: String
    /// Strictly increasing in time.
    public var samples: [PrometheusSample]

    public init(node: String, samples: [PrometheusSample]) {
        self.node = node
        self.samples = samples
    }
}

/// A problem with a backtest input file, naming the file and the series.
public struct BacktestInputError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// Turns Prometheus `query_range` answers into per-node series for the backtest.
public enum BacktestMatrix {
    /// The labels tried, in order, when no node label is given.
    public static let defaultNodeLabels = ["node", "pod", "instance"]

    /// Decodes one `/api/v1/query_range` response body.
    /// - Parameters:
    ///   - data: the JSON body (a `resultType: matrix` answer).
    ///   - file: names the input in errors.
    ///   - nodeLabel: the label naming the node; `nil` tries `node`, then `pod`, then `instance` per series.
    /// - Throws: `BacktestInputError` for anything that is not one clean series per node.
    public static func series(from data: Data, file: String, nodeLabel: String?) throws(BacktestInputError) -> [BacktestSeries] {
        let response: PrometheusResponse
        do {
            response = try PrometheusResponse.decode(data)
        } catch {
            throw BacktestInputError(file: file, "\(error)")
        }
        guard case .matrix(let matrix) = response.result else {
            throw BacktestInputError(file: file, "resultType is \(response.result.typeName), expected matrix: save the answer of /api/v1/query_range, not /api/v1/query")
        }
        guard !matrix.isEmpty else {
            throw BacktestInputError(file: file, "the matrix holds no series: the query matched nothing in that time range")
        }
        var result: [BacktestSeries] = []
        var seen: [String: String] = [:]
        for (index, series) in matrix.enumerated() {
            let describe = "series \(index) \(labelText(series.labels))"
            let labels = nodeLabel.map { [$0] } ?? defaultNodeLabels
            guard let label = labels.first(where: { series.labels[$0] != nil }), let node = series.labels[label] else {
                throw BacktestInputError(file: file, "\(describe) has no \(labels.joined(separator: "/")) label to name its node; pass --node-label or aggregate by the node label (e.g. max by (node) (...))")
            }
            if let other = seen[node] {
                throw BacktestInputError(file: file, "\(describe) names node \(node) again (also \(other)); the query must return one series per node")
            }
            seen[node] = describe
            var previous: Date?
            for sample in series.samples {
                if !sample.value.isFinite {
                    throw BacktestInputError(file: file, "\(describe) has the value \(sample.value) at \(KubernetesTime.format(sample.time)); connection counts must be finite numbers")
                }
                if let previous, sample.time <= previous {
                    throw BacktestInputError(file: file, "\(describe) is out of order at \(KubernetesTime.format(sample.time)) (after \(KubernetesTime.format(previous)))")
                }
                previous = sample.time
            }
            result.append(BacktestSeries(node: node, samples: series.samples))
        }
        return result.sorted { $0.node < $1.node }
    }

    static func labelText(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }
}
