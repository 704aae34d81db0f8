import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import NIOCore
import NIOSSL

/// Observes per-node counts by scraping every EMQX node directly: EMQX 5 `GET /api/v5/prometheus/stats` (node mode)
/// or EMQX 4.4 `GET /api/v4/emqx_prometheus?type=prometheus`, and optionally `GET /api/v5/nodes` for uptime, role
/// and status.
///
/// Each node's URL comes from ``Configuration/targets`` when listed there, else from its name: the host after `@`
/// (a pod DNS name for core nodes, an IP for replicants) with ``Configuration/scheme`` and ``Configuration/port``.
/// Nodes are scraped concurrently, each within ``Configuration/timeout``; a node that does not answer is left out
/// (missing, never zero) with a warning naming it and why. Only when no node answers does `observe` throw.
public struct EMQXScrapeSource: MetricSource {
    public enum APIVersion: String, Sendable, Hashable {
        /// EMQX 5 and later: `/api/v5/prometheus/stats`.
        case v5
        /// EMQX 4.4: `/api/v4/emqx_prometheus?type=prometheus`.
        case v4
    }

    public struct Configuration: Sendable, Hashable {
        /// `nil`: from the cluster's kind (`EMQX` → v5, `EmqxEnterprise` → v4).
        public var apiVersion: APIVersion?
        public var scheme: String
        /// The dashboard/REST listener: 18083 (http) by default, 18084 for https.
        public var port: Int
        /// Explicit base URLs per node name (`emqx@host` → `http://127.0.0.1:18083`), taking precedence over the name.
        public var targets: [String: String]
        /// Basic auth with an API key and secret (EMQX 6.3 requires it on the stats endpoint by default; `/api/v5/nodes`
        /// always does), or a bearer token.
        public var authorization: HTTPAuthorization
        public var tls: SourceTLS?
        /// Per target.
        public var timeout: Duration
        /// Also read `/api/v5/nodes` (EMQX 5) for uptime, role and running status.
        public var fetchNodeInfo: Bool

        public init(
            apiVersion: APIVersion? = nil,
            scheme: String = "http",
            port: Int = 18083,
            targets: [String: String] = [:],
            authorization: HTTPAuthorization = .none,
            tls: SourceTLS? = nil,
            timeout: Duration = .seconds(5),
            fetchNodeInfo: Bool = false
        ) {
            self.apiVersion = apiVersion
            self.scheme = scheme
            self.port = port
            self.targets = targets
            self.authorization = authorization
            self.tls = tls
            self.timeout = timeout
            self.fetchNodeInfo = fetchNodeInfo
        }
    }

    public let kind = "emqx"
    public let configuration: Configuration
    private let fetch: HTTPFetch
    /// The stats GETs, on connections kept to every node between cycles (`/api/v5/nodes` goes through `fetch`).
    private let connections: KeptAliveConnections
    private let now: @Sendable () -> Date

    /// `now` stamps each scrape (tests inject a fixed clock). Throws when the TLS settings are unusable.
    public init(
        configuration: Configuration,
        httpClient: HTTPClient,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.configuration = configuration
        let tls = try configuration.tls?.configuration()
        self.fetch = HTTPFetch(
            client: httpClient,
            authorization: configuration.authorization,
            tls: tls,
            timeout: configuration.timeout
        )
        // A TLS context is made once per source, and only when a node is scraped over https.
        let secure =
            configuration.scheme.lowercased() == "https"
            || configuration.targets.values.contains { $0.lowercased().hasPrefix("https:") }
        self.connections = KeptAliveConnections(
            group: httpClient.eventLoopGroup,
            tls: secure ? try NIOSSLContext(configuration: tls ?? .makeClientConfiguration()) : nil
        )
        self.now = now
    }

    /// The base URL a node is scraped at.
    public func baseURL(of node: String) -> String {
        if let explicit = configuration.targets[node] {
            var url = explicit
            while url.hasSuffix("/") { url.removeLast() }
            return url
        }
        var host = node.split(separator: "@", maxSplits: 1).last.map(String.init) ?? node
        if host.contains(":") { host = "[\(host)]" }
        return "\(configuration.scheme)://\(host):\(configuration.port)"
    }

    func statsPath(for cluster: ClusterReference) -> String {
        switch configuration.apiVersion ?? (cluster.kind == .emqxEnterprise ? .v4 : .v5) {
        case .v5: "/api/v5/prometheus/stats"
        case .v4: "/api/v4/emqx_prometheus?type=prometheus"
        }
    }

    /// Nodes are scraped concurrently, each within the timeout; `/api/v5/nodes` then asks at most
    /// ``nodeInfoAttempts`` nodes in turn.
    public var budget: Duration? {
        configuration.timeout * (configuration.fetchNodeInfo ? 1 + Self.nodeInfoAttempts : 1) + .seconds(1)
    }

    /// How many nodes `/api/v5/nodes` is asked before the node info is given up for this cycle.
    static let nodeInfoAttempts = 2

    public func observe(_ request: ObservationRequest) async throws -> SourceObservation {
        let names =
            request.expectedNodes.isEmpty ? configuration.targets.keys.sorted() : request.expectedNodes.map(\.name)
        guard !names.isEmpty else {
            throw EMQXScrapeError.noNodes(cluster: request.cluster.description)
        }
        let path = statsPath(for: request.cluster)
        // Every node's exchange starts at once and its body is read on the connection's event loop; this task wakes
        // once, when the last has ended: not a task per node, nor a wake-up per node or per body part.
        let urls = names.map { baseURL(of: $0) + path }
        let shownURLs = urls.map(SafeText.redacted)
        let outcomes = await connections.get(
            zip(urls, shownURLs).map { ($0, $1, ExpositionBody(url: $1)) },
            accept: "text/plain",
            fetch: fetch
        )
        let results = zip(names, zip(shownURLs, outcomes)).map { name, answer in
            scraped(name, shownURL: answer.0, answer.1)
        }

        var nodes: [NodeObservation] = []
        var warnings: [String] = []
        for (name, result) in zip(names, results) {
            switch result {
            case .success(let scraped):
                var node = scraped.node
                if node.role == nil { node.role = request.expectedNodes.first { $0.name == name }?.role }
                nodes.append(node)
                warnings += scraped.warnings
            case .failure(let failure):
                warnings.append("node \(name) of \(request.cluster) is missing: \(failure.reason)")
            }
        }
        guard !nodes.isEmpty else {
            throw EMQXScrapeError.noNodeAnswered(cluster: request.cluster.description, reasons: warnings)
        }
        if configuration.fetchNodeInfo {
            let (info, problem) = await nodeInfo(asking: nodes.map(\.name))
            if let problem { warnings.append(problem) }
            for index in nodes.indices {
                guard let entry = info[nodes[index].name] else { continue }
                if let uptime = entry.uptimeSeconds { nodes[index].uptimeSeconds = uptime }
                if let role = entry.role { nodes[index].role = role }
                if let running = entry.running { nodes[index].running = running }
            }
        }
        return SourceObservation(nodes: nodes, warnings: warnings)
    }

    struct ScrapeFailure: Error {
        var reason: String
    }

    /// The most bytes one node's stats answer may have. EMQX 5 writes about 20 KB per node (45 KB for three nodes
    /// in `mode=all_nodes_unaggregated`); the body is parsed as it streams in and only the families the agent reads
    /// are built, so this bounds the time a node can keep the agent reading, not its memory.
    public static let bodyLimit = 8 << 20

    /// Scrapes one node. One unreadable line (or an HTML page, or a duplicated series) makes the whole scrape of that
    /// node unknown: a body that is not what EMQX writes cannot be trusted in part.
    /// One node's scrape: its numbers and the values in the body that were not used.
    struct Scraped: Sendable {
        var node: NodeObservation
        var warnings: [String]
    }

    /// What one node's scrape gave.
    private func scraped(
        _ name: String,
        shownURL: String,
        _ outcome: Result<ExpositionDocument, SourceFetchError>
    ) -> Result<Scraped, ScrapeFailure> {
        let document: ExpositionDocument
        switch outcome {
        case .success(let read): document = read
        case .failure(let error): return .failure(ScrapeFailure(reason: error.description))
        }
        let scrapedAt = now()
        let reading = EMQXExposition.read(document, scrapedNode: name, observedAt: scrapedAt)
        guard var node = reading.nodes.first(where: { $0.name == name }),
            node.liveConnections != nil || node.connections != nil || node.sessions != nil
        else {
            let problems =
                reading.problems.isEmpty ? "" : " (\(SafeText.forLog(reading.problems.joined(separator: "; "))))"
            return .failure(
                ScrapeFailure(
                    reason:
                        "\(shownURL) answered without a usable emqx_live_connections_count, emqx_connections_count or emqx_sessions_count\(problems); check that it is an EMQX stats endpoint"
                )
            )
        }
        if let duplicate = reading.duplicates.first {
            return .failure(
                ScrapeFailure(
                    reason:
                        "\(shownURL): \(SafeText.forLog(duplicate)); a body that contradicts itself cannot be trusted"
                )
            )
        }
        node.observedAt = scrapedAt
        return .success(
            Scraped(node: node, warnings: reading.problems.map { SafeText.forLog("\($0); unknown this cycle") })
        )
    }

    /// The families a scrape builds; every other line is checked and dropped.
    static let families: Set<String> = [
        EMQXExposition.liveConnectionsMetric, EMQXExposition.connectionsMetric, EMQXExposition.sessionsMetric,
        EMQXExposition.restartCounterMetric, EMQXExposition.wallclockMetric, EMQXExposition.uptimeMetric,
    ]

    /// Parses a stats body as it arrives, on the connection's event loop: strict (the first broken line fails the
    /// node), only ``families`` built, at most ``bodyLimit`` bytes.
    struct ExpositionBody: StreamedBodyReader {
        let url: String
        private var stream = ExpositionParser(mode: .strict, families: families, limits: .scrape).stream()

        init(url: String) {
            self.url = url
        }

        func head(_ head: HTTPFetch.Head) throws(SourceFetchError) {
            if let type = head.headers.first(name: "Content-Type"), let problem = contentTypeProblem(type) {
                throw .invalidBody(url: url, reason: problem)
            }
        }

        mutating func read(_ part: ByteBuffer) throws(SourceFetchError) {
            guard stream.byteCount + part.readableBytes <= bodyLimit else {
                throw .bodyTooLarge(url: url, limit: bodyLimit)
            }
            let problem = part.withUnsafeReadableBytes { bytes -> ExpositionError? in
                do throws(ExpositionError) {
                    try stream.feed(bytes)
                    return nil
                } catch {
                    return error
                }
            }
            if let problem { throw invalid(problem) }
        }

        mutating func finish() throws(SourceFetchError) -> ExpositionDocument {
            do {
                return try stream.finish()
            } catch {
                throw invalid(error)
            }
        }

        private func invalid(_ error: ExpositionError) -> SourceFetchError {
            .invalidBody(
                url: url,
                reason: "line \(SafeText.forLog(error.description)); not the Prometheus text format EMQX writes"
            )
        }
    }

    /// Why a `Content-Type` cannot be an exposition (an HTML error page, JSON), or `nil`.
    static func contentTypeProblem(_ type: String) -> String? {
        guard
            SafeText.contains(type, "html") || SafeText.contains(type, "json") || SafeText.contains(type, "xml")
                || SafeText.contains(type, "javascript")
        else { return nil }
        return "Content-Type \(SafeText.forLog(type)) is not the Prometheus text format (text/plain)"
    }

    /// `/api/v5/nodes` lists about 1 KB per node.
    static let nodeInfoLimit = 1 << 20

    struct NodeInfo {
        var uptimeSeconds: Double?
        var role: NodeRole?
        var running: Bool?
    }

    /// `/api/v5/nodes` lists every node of the cluster: ask the nodes in turn until one answers.
    private func nodeInfo(asking names: [String]) async -> ([String: NodeInfo], String?) {
        var lastProblem: String?
        for name in names.prefix(Self.nodeInfoAttempts) {
            let url = baseURL(of: name) + "/api/v5/nodes"
            do {
                var bounded = fetch
                bounded.bodyLimit = Self.nodeInfoLimit
                let response = try await bounded.fetch(url, accept: "application/json")
                guard let list = try? JSONSerialization.jsonObject(with: response.body) as? [[String: Any]] else {
                    lastProblem = "\(SafeText.redacted(url)) did not answer a JSON array of nodes"
                    continue
                }
                var info: [String: NodeInfo] = [:]
                for entry in list {
                    guard let node = entry["node"] as? String else { continue }
                    info[node] = NodeInfo(
                        uptimeSeconds: entry["uptime"].flatMap(JSONNumber.value).map { $0 / 1000 },
                        role: (entry["role"] as? String).flatMap(NodeRole.init(rawValue:)),
                        running: (entry["node_status"] as? String).map { $0 == "running" }
                    )
                }
                return (info, nil)
            } catch {
                lastProblem = "node info (/api/v5/nodes) unavailable: \(error.description)"
            }
        }
        return ([:], lastProblem)
    }
}

/// Why a direct scrape failed as a whole.
public enum EMQXScrapeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No expected nodes and no configured targets.
    case noNodes(cluster: String)
    /// Every node failed; one reason per node.
    case noNodeAnswered(cluster: String, reasons: [String])

    public var description: String {
        switch self {
        case .noNodes(let cluster):
            "no nodes to scrape for \(cluster): the EMQX object lists none and no targets are configured"
        case .noNodeAnswered(let cluster, let reasons):
            "no EMQX node of \(cluster) answered: " + reasons.joined(separator: "; ")
        }
    }
}
