import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import NIOSSL

/// Observes per-node counts through the Prometheus HTTP API (`/api/v1/query`).
///
/// Each quantity is one instant query; nodes are identified by ``Configuration/nodeLabel`` and mapped to EMQX node
/// names with ``PrometheusNodeIdentity``. A node with no series is absent (unknown), never zero. Prometheus warnings
/// and series that match no expected node come back as `warnings`; `status: error` throws.
public struct PrometheusSource: MetricSource {
    public struct Configuration: Sendable, Hashable {
        /// Base URL of the Prometheus server, e.g. `http://prometheus.monitoring:9090` (a path prefix is kept).
        public var baseURL: String
        public var selector: PrometheusSelector
        /// The label that identifies a node: `node` (default), `pod` or `instance`.
        public var nodeLabel: String
        public var queries: PrometheusQueries
        public var authorization: HTTPAuthorization
        public var tls: SourceTLS?
        public var timeout: Duration
        /// POST the query as a form (long queries; Prometheus accepts both).
        public var usePOST: Bool

        public init(
            baseURL: String,
            selector: PrometheusSelector = PrometheusSelector(),
            nodeLabel: String = "node",
            queries: PrometheusQueries = .emqxDefault,
            authorization: HTTPAuthorization = .none,
            tls: SourceTLS? = nil,
            timeout: Duration = .seconds(10),
            usePOST: Bool = false
        ) {
            self.baseURL = baseURL
            self.selector = selector
            self.nodeLabel = nodeLabel
            self.queries = queries
            self.authorization = authorization
            self.tls = tls
            self.timeout = timeout
            self.usePOST = usePOST
        }
    }

    public let kind = "prometheus"
    public let configuration: Configuration
    private let fetch: HTTPFetch
    /// Shared by every cluster with this configuration: one query per quantity per cycle for all of them.
    public var batch: PrometheusBatch?

    /// Throws when the TLS settings are unusable (a CA PEM without a certificate).
    public init(configuration: Configuration, httpClient: HTTPClient) throws {
        self.configuration = configuration
        self.fetch = HTTPFetch(
            client: httpClient,
            authorization: configuration.authorization,
            tls: try configuration.tls?.configuration(),
            timeout: configuration.timeout
        )
    }

    /// The three queries run concurrently, each bounded by the timeout (plus the fetch's half-second guard).
    public var budget: Duration? { configuration.timeout + .seconds(1) }

    public func observe(_ request: ObservationRequest) async throws -> SourceObservation {
        let answers: PrometheusBatch.Answers
        if let batch, let batched = try await batch.answers(for: request.cluster) {
            answers = batched
        } else {
            answers = try await ask(for: request.cluster)
        }
        return try observation(from: answers, request)
    }

    /// The cluster's own three queries.
    func ask(for cluster: ClusterReference) async throws -> PrometheusBatch.Answers {
        let selector = configuration.selector.selector(for: cluster)
        let label = configuration.nodeLabel
        let queries = configuration.queries
        let liveQuery = queries.liveConnections.map { PrometheusQueries.render($0, selector: selector, label: label) }
        let connectionsQuery = queries.connections.map {
            PrometheusQueries.render($0, selector: selector, label: label)
        }
        let sessionsQuery = queries.sessions.map { PrometheusQueries.render($0, selector: selector, label: label) }
        async let live = optionalQuery(liveQuery)
        async let connections = optionalQuery(connectionsQuery)
        async let sessions = optionalQuery(sessionsQuery)
        return PrometheusBatch.Answers(
            live: try await live,
            connections: try await connections,
            sessions: try await sessions,
            sent: (liveQuery, connectionsQuery, sessionsQuery)
        )
    }

    /// The nodes (and warnings) the answers of one cluster give.
    func observation(from answers: PrometheusBatch.Answers, _ request: ObservationRequest) throws -> SourceObservation {
        let label = configuration.nodeLabel
        let selector = configuration.selector.selector(for: request.cluster)
        let (liveQuery, connectionsQuery, sessionsQuery) = answers.sent
        let expected = request.expectedNodes.map(\.name)
        var warnings: [String] = []
        var nodes: [String: NodeObservation] = [:]
        var unmatched: Set<String> = []
        let quantities: [(PrometheusResponse?, WritableKeyPath<NodeObservation, Double?>, String, String?)] = [
            (answers.live, \.liveConnections, "live connections", liveQuery),
            (answers.connections, \.connections, "connections", connectionsQuery),
            (answers.sessions, \.sessions, "sessions", sessionsQuery),
        ]
        var anySeries = false
        for (answer, keyPath, what, sent) in quantities {
            guard let answer else { continue }
            warnings += answer.warnings.map { SafeText.forLog("Prometheus warning (\(what) query): \($0)") }
            let vector = try answer.vector()
            if vector.isEmpty {
                warnings.append(
                    SafeText.forLog(
                        "the \(what) query matched no series; check selector/nodeLabel (query sent: \(sent ?? ""))"
                    )
                )
            }
            anySeries = anySeries || !vector.isEmpty
            // A node named by two series of one query: which one is right cannot be told, so neither counts.
            var seen: Set<String> = []
            var twice: Set<String> = []
            for series in vector {
                guard let value = series.labels[label] else {
                    warnings.append(
                        SafeText.forLog(
                            "a \(what) series has no `\(label)` label (labels \(series.labels.keys.sorted())); group the query by `\(label)`"
                        )
                    )
                    continue
                }
                guard let name = PrometheusNodeIdentity.nodeName(forLabelValue: value, expected: expected) else {
                    unmatched.insert(value)
                    continue
                }
                if !seen.insert(name).inserted { twice.insert(name) }
                // Every value is passed on as answered (NaN included): ObservationCheck makes it unknown and says so.
                var node =
                    nodes[name]
                    ?? NodeObservation(name: name, role: request.expectedNodes.first { $0.name == name }?.role)
                node[keyPath: keyPath] = series.sample.value
                node.observedAt = min(node.observedAt ?? series.sample.time, series.sample.time)
                nodes[name] = node
            }
            for name in twice.sorted() {
                warnings.append(
                    "the \(what) query returned more than one series for node \(name); its \(what) are unknown this cycle (aggregate with max by (\(label)))"
                )
                nodes[name]?[keyPath: keyPath] = nil
            }
        }
        for value in unmatched.sorted().prefix(10) {
            warnings.append(
                SafeText.forLog(
                    "\(label)=\"\(value)\" matches none of the expected nodes of \(request.cluster); check nodeLabel"
                )
            )
        }
        if unmatched.count > 10 {
            warnings.append("\(unmatched.count - 10) more \(label) values match none of the expected nodes")
        }
        let missing = expected.filter { nodes[$0] == nil }
        // With no series at all, the lines above already say why; else name the nodes the series left out.
        if !missing.isEmpty, anySeries {
            warnings.append(
                "no Prometheus series for \(missing.joined(separator: ", ")) of \(request.cluster) (selector {\(selector)})"
            )
        }
        let ordered = expected.isEmpty ? nodes.keys.sorted() : expected.filter { nodes[$0] != nil }
        return SourceObservation(nodes: ordered.compactMap { nodes[$0] }, warnings: warnings)
    }

    /// The most bytes an instant-query answer may have: one series per node is about 250 bytes, so 1 MiB holds
    /// thousands of nodes, while three such answers decoded at once stay well inside the agent's memory limit.
    public static let queryBodyLimit = 1 << 20
    /// The most bytes a range-query answer may have (`backtest` only, never the agent's loop).
    public static let rangeBodyLimit = 64 << 20

    /// Runs one instant query (`/api/v1/query`). Throws ``SourceFetchError`` or ``PrometheusResponseError``.
    /// - Parameter bodyLimit: the most bytes the answer may have (a batch for many clusters allows more).
    public func query(
        _ promQL: String,
        at time: Date? = nil,
        bodyLimit: Int = PrometheusSource.queryBodyLimit
    ) async throws -> PrometheusResponse {
        var pairs = [("query", promQL)]
        if let time { pairs.append(("time", Self.timestamp(time))) }
        return try await call(path: "/api/v1/query", pairs: pairs, bodyLimit: bodyLimit)
    }

    /// Runs one range query (`/api/v1/query_range`) and returns its matrix (for backtests over recorded history).
    public func queryRange(
        query promQL: String,
        start: Date,
        end: Date,
        step: Duration
    ) async throws -> [PrometheusMatrixSeries] {
        let response = try await call(
            path: "/api/v1/query_range",
            pairs: [
                ("query", promQL), ("start", Self.timestamp(start)), ("end", Self.timestamp(end)),
                ("step", Self.number(step.seconds)),
            ],
            bodyLimit: Self.rangeBodyLimit
        )
        return try response.matrix()
    }

    private func optionalQuery(_ promQL: String?) async throws -> PrometheusResponse? {
        guard let promQL else { return nil }
        return try await query(promQL)
    }

    private func call(path: String, pairs: [(String, String)], bodyLimit: Int) async throws -> PrometheusResponse {
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        let form = QueryEncoding.form(pairs)
        // Prometheus sends its error envelope (errorType, error) with 400, 422 and 503: decode those too.
        let passThrough: Set<Int> = [400, 422, 503]
        var fetch = fetch
        fetch.bodyLimit = bodyLimit
        // A query for many clusters at once is long: POST it (Prometheus takes both; proxies limit URL lengths).
        let response =
            configuration.usePOST || form.utf8.count > 2048
            ? try await fetch.fetch(base + path, form: form, accept: "application/json", passThrough: passThrough)
            : try await fetch.fetch(base + path + "?" + form, accept: "application/json", passThrough: passThrough)
        if !(200..<300).contains(response.status), (try? JSONSerialization.jsonObject(with: response.body)) == nil {
            throw HTTPFetch.statusError(
                response.status,
                url: SafeText.redacted(base + path),
                preview: response.body.prefix(HTTPFetch.previewLength)
            )
        }
        if let type = response.headers.first(name: "Content-Type"), type.lowercased().contains("html") {
            throw SourceFetchError.invalidBody(
                url: SafeText.redacted(base + path),
                reason: "Content-Type \(SafeText.forLog(type)) is not a Prometheus API answer (application/json)"
            )
        }
        return try PrometheusResponse.decode(response.body)
    }

    static func timestamp(_ date: Date) -> String { number(date.timeIntervalSince1970) }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
