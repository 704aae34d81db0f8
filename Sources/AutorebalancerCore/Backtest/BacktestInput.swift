import Foundation

/// One node's history of one quantity, from one series of a `query_range` matrix.
public struct BacktestSeries: Sendable, Hashable {
    public var node: String
    /// Strictly increasing in time, every value finite and not negative.
    public var samples: [PrometheusSample]
    /// The series' labels as Prometheus returned them.
    public var labels: [String: String]

    public init(node: String, samples: [PrometheusSample], labels: [String: String] = [:]) {
        self.node = node
        self.samples = samples
        self.labels = labels
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

    /// Decodes one saved `/api/v1/query_range` response body.
    ///
    /// The body is read here rather than with ``PrometheusResponse/decode(_:)`` so that every problem can name the
    /// series it is in (by its labels) and say how to export the file again.
    /// - Parameters:
    ///   - data: the JSON body (a `resultType: matrix` answer).
    ///   - file: names the input in errors.
    ///   - nodeLabel: the label naming the node; `nil` tries `node`, then `pod`, then `instance` per series.
    /// - Throws: `BacktestInputError` for anything that is not one clean series per node.
    public static func series(
        from data: Data,
        file: String,
        nodeLabel: String?
    ) throws(BacktestInputError) -> [BacktestSeries] {
        func fail(_ message: String) -> BacktestInputError { BacktestInputError(file: file, message) }
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw fail("the file is empty; save the body of /api/v1/query_range into it")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw fail("not JSON (\(preview(data))); save the body of /api/v1/query_range as it is")
        }
        guard let root = object as? [String: Any] else {
            throw fail(
                "the top level is not a JSON object; expected a Prometheus answer {\"status\":\"success\",\"data\":{...}}"
            )
        }
        if let status = root["status"] as? String, status == "error" {
            let type = root["errorType"] as? String ?? "unknown"
            let text = root["error"] as? String ?? "no error text"
            throw fail("holds a Prometheus error answer (\(type): \(text)); fix the query and export it again")
        }
        guard let status = root["status"] as? String else {
            throw fail("no `status` field; expected a Prometheus answer {\"status\":\"success\",\"data\":{...}}")
        }
        guard status == "success" else { throw fail("`status` is \"\(status)\", expected \"success\"") }
        guard let dataObject = root["data"] as? [String: Any] else { throw fail("no `data` object") }
        guard let resultType = dataObject["resultType"] as? String else { throw fail("no `data.resultType`") }
        guard resultType == "matrix" else {
            throw fail(
                "resultType is \(resultType), expected matrix: save the answer of /api/v1/query_range, not /api/v1/query"
            )
        }
        guard let items = dataObject["result"] as? [Any] else { throw fail("`data.result` is not an array") }

        var matrix: [PrometheusMatrixSeries] = []
        matrix.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard let series = item as? [String: Any] else { throw fail("series \(index) is not an object") }
            var labels: [String: String] = [:]
            if let metric = series["metric"] {
                guard let metric = metric as? [String: Any] else {
                    throw fail("series \(index) `metric` is not an object")
                }
                for (key, value) in metric {
                    guard let text = value as? String else {
                        throw fail("series \(index) label \(key) is not a string")
                    }
                    labels[key] = text
                }
            }
            let describe = "series \(index) \(labelText(labels))"
            guard let values = series["values"] as? [Any] else {
                if series["histograms"] != nil {
                    throw fail(
                        "\(describe) holds native histograms, not numbers; query a gauge such as emqx_live_connections_count"
                    )
                }
                throw fail("\(describe) has no `values` array")
            }
            var samples: [PrometheusSample] = []
            samples.reserveCapacity(values.count)
            for (sampleIndex, raw) in values.enumerated() {
                guard let pair = raw as? [Any], pair.count == 2 else {
                    throw fail("\(describe) sample \(sampleIndex) is not [time, \"value\"]")
                }
                guard let seconds = JSONNumber.value(pair[0]) else {
                    throw fail("\(describe) sample \(sampleIndex) has a time that is not a number (\(pair[0]))")
                }
                let time = Date(timeIntervalSince1970: seconds)
                if let problem = SampleCheck.problem(withRecordedTime: time) {
                    throw fail(
                        "\(describe) sample \(sampleIndex) has the time \(SampleCheck.describe(seconds)), which \(problem)"
                    )
                }
                guard let text = pair[1] as? String else {
                    throw fail(
                        "\(describe) has a value that is not a string at \(KubernetesTime.format(time)); Prometheus writes values as strings, e.g. \"3333\""
                    )
                }
                guard let value = PrometheusResponse.parseValue(text) else {
                    throw fail("\(describe) has the non-numeric value \"\(text)\" at \(KubernetesTime.format(time))")
                }
                samples.append(PrometheusSample(time: time, value: value))
            }
            matrix.append(PrometheusMatrixSeries(labels: labels, samples: samples))
        }
        return try series(from: matrix, file: file, nodeLabel: nodeLabel)
    }

    /// Checks decoded matrix series (a saved file or a live `query_range` answer) and names each by its node.
    /// - Throws: `BacktestInputError` for an empty matrix, a series without the node label, a node named twice,
    ///   a NaN, infinite or negative value, or samples out of time order.
    public static func series(
        from matrix: [PrometheusMatrixSeries],
        file: String,
        nodeLabel: String?
    ) throws(BacktestInputError) -> [BacktestSeries] {
        guard !matrix.isEmpty else {
            throw BacktestInputError(
                file: file,
                "the matrix holds no series: the query matched nothing in that time range (check the selector and the time range)"
            )
        }
        var result: [BacktestSeries] = []
        var seen: [String: String] = [:]
        let labels = nodeLabel.map { [$0] } ?? defaultNodeLabels
        for (index, series) in matrix.enumerated() {
            let describe = "series \(index) \(labelText(series.labels))"
            guard let label = labels.first(where: { series.labels[$0] != nil }), let node = series.labels[label],
                !node.isEmpty
            else {
                throw BacktestInputError(
                    file: file,
                    "\(describe) has no \(labels.joined(separator: "/")) label to name its node; pass --node-label or aggregate by the node label (e.g. max by (node) (...))"
                )
            }
            if let other = seen[node] {
                throw BacktestInputError(
                    file: file,
                    "\(describe) names node \(node) again (also \(other)); the query must return one series per node (aggregate with max by (\(label)) (...))"
                )
            }
            seen[node] = describe
            var previous: Date?
            for sample in series.samples {
                // The same rule as for live samples (SampleCheck): a value no node could report is refused.
                if let problem = SampleCheck.problem(withRecordedTime: sample.time) {
                    throw BacktestInputError(
                        file: file,
                        "\(describe) has a sample whose time (\(SampleCheck.describe(sample.time.timeIntervalSince1970)) s since 1970) \(problem)"
                    )
                }
                if let problem = SampleCheck.problem(with: sample.value, as: .count) {
                    throw BacktestInputError(
                        file: file,
                        "\(describe) has the value \(PrometheusResponse.formatValue(sample.value)) at \(KubernetesTime.format(sample.time)), which \(problem); counts must be finite numbers, not negative and at most \(BalanceEvaluation.format(SampleCheck.maximumCount))"
                    )
                }
                if let previous, sample.time <= previous {
                    throw BacktestInputError(
                        file: file,
                        "\(describe) is out of order at \(KubernetesTime.format(sample.time)) (after \(KubernetesTime.format(previous))); samples must go forward in time"
                    )
                }
                previous = sample.time
            }
            result.append(BacktestSeries(node: node, samples: series.samples, labels: series.labels))
        }
        return result.sorted { $0.node < $1.node }
    }

    /// Checks that the sessions input names the same nodes as the connections input.
    public static func checkSameNodes(
        connections: [BacktestSeries],
        connectionsFile: String,
        sessions: [BacktestSeries],
        sessionsFile: String
    ) throws(BacktestInputError) {
        let a = Set(connections.map(\.node))
        let b = Set(sessions.map(\.node))
        guard a != b else { return }
        var parts: [String] = []
        let onlySessions = b.subtracting(a).sorted()
        let onlyConnections = a.subtracting(b).sorted()
        if !onlySessions.isEmpty {
            parts.append("node(s) \(onlySessions.joined(separator: ", ")) are not in \(connectionsFile)")
        }
        if !onlyConnections.isEmpty {
            parts.append("node(s) \(onlyConnections.joined(separator: ", ")) of \(connectionsFile) are missing")
        }
        throw BacktestInputError(
            file: sessionsFile,
            "the nodes differ from those of \(connectionsFile): \(parts.joined(separator: "; ")); export both with the same selector, node label and time range"
        )
    }

    /// The cluster the series' `namespace` and `cluster` labels name, when every series names the same one.
    public static func clusterFromLabels(_ series: [BacktestSeries]) -> ClusterReference? {
        let pairs = Set(series.map { [$0.labels["namespace"], $0.labels["cluster"]] })
        guard pairs.count == 1, let pair = pairs.first, let namespace = pair[0], let name = pair[1] else { return nil }
        return ClusterReference(namespace: namespace, name: name)
    }

    static func labelText(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    static func preview(_ data: Data) -> String {
        let text = String(decoding: data.prefix(60), as: UTF8.self)
        return data.count > 60 ? "starts with \"\(text)…\"" : "\"\(text)\""
    }
}

extension PrometheusResponse {
    /// `NaN`, `+Inf`, `-Inf` as Prometheus writes them; other values as numbers.
    static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return BalanceEvaluation.format(value)
    }
}
