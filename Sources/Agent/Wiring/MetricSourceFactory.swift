import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Observe
import Synchronization

/// Builds the metric sources of a cluster entry from the configuration (the only place configuration meets the
/// source implementations).
public final class MetricSourceFactory: Sendable {
    public let httpClient: HTTPClient
    /// Picks the version the `status` source reads each cluster's object at (shared with the loop).
    public let discovery: OperatorDiscovery
    public let environment: [String: String]
    public let now: @Sendable () -> Date
    /// Sources already built, so CA files and secrets are read once per configuration, not every cycle. A reload that
    /// changes a source's settings gets a new key and so a new source.
    private let built = Mutex<[SourceKey: any MetricSource]>([:])
    /// One batch per Prometheus source configuration that clusters share (`PrometheusBatch`).
    private let batches = Mutex<[PrometheusSettings: PrometheusBatch]>([:])

    struct SourceKey: Hashable {
        var settings: SourceSettings
        var cluster: ClusterReference
    }

    public init(
        httpClient: HTTPClient,
        discovery: OperatorDiscovery,
        environment: [String: String],
        now: @escaping @Sendable () -> Date
    ) {
        self.httpClient = httpClient
        self.discovery = discovery
        self.environment = environment
        self.now = now
    }

    /// The sources in fallback order. A source whose settings cannot be turned into a client (an unreadable secret)
    /// becomes a source that fails every cycle with that message, so the problem shows in logs, metrics and alerts.
    public func sources(for settings: ClusterSettings, cluster: ClusterReference) -> [any MetricSource] {
        settings.sources.map { source in
            let key = SourceKey(settings: source, cluster: cluster)
            if let existing = built.withLock({ $0[key] }) { return existing }
            let made: any MetricSource
            do {
                made = try make(source)
            } catch {
                // Not cached: a secret file that appears later is picked up on the next cycle.
                return FailingSource(kind: source.kind, message: "\(error)")
            }
            built.withLock { $0[key] = made }
            return made
        }
    }

    /// Tells the Prometheus batches which clusters this cycle asks for (building their sources first).
    public func cycleWillStart(_ work: [(ClusterReference, ClusterSettings)]) {
        var members: [PrometheusSettings: [ClusterReference]] = [:]
        for (cluster, settings) in work {
            _ = sources(for: settings, cluster: cluster)
            for case .prometheus(let prometheus) in settings.sources {
                members[prometheus, default: []].append(cluster)
            }
        }
        for (settings, batch) in batches.withLock({ $0 }) { batch.begin(members[settings] ?? []) }
    }

    func make(_ source: SourceSettings) throws -> any MetricSource {
        switch source {
        case .status:
            return EMQXStatusSource(discovery: discovery, now: now)
        case .prometheus(let settings):
            var made = try PrometheusSource(
                configuration: Self.configuration(settings, environment: environment),
                httpClient: httpClient
            )
            made.batch = batches.withLock { batches in
                if let existing = batches[settings] { return existing }
                let batch = PrometheusBatch(source: made)
                if let batch { batches[settings] = batch }
                return batch
            }
            return made
        case .emqx(let settings) where settings.mode == .nodes:
            return try nodesSource(settings)
        case .emqx(let settings):
            let configuration = EMQXScrapeSource.Configuration(
                scheme: settings.scheme,
                port: settings.port,
                targets: settings.targets,
                authorization: try settings.http.authorization(environment: environment),
                tls: try settings.http.sourceTLS(),
                timeout: .seconds(settings.http.timeout),
                fetchNodeInfo: settings.readUptime
            )
            return try EMQXScrapeSource(configuration: configuration, httpClient: httpClient, now: now)
        }
    }

    /// A Prometheus source's configuration from its settings (`backtest` builds its source with it too). Throws when
    /// a secret or CA file cannot be read.
    public static func configuration(
        _ settings: PrometheusSettings,
        environment: [String: String]
    ) throws -> PrometheusSource.Configuration {
        var configuration = PrometheusSource.Configuration(
            baseURL: settings.url,
            nodeLabel: settings.nodeLabel ?? "node",
            authorization: try settings.http.authorization(environment: environment),
            tls: try settings.http.sourceTLS(),
            timeout: .seconds(settings.http.timeout)
        )
        if let selector = settings.selector { configuration.selector = PrometheusSelector(template: selector) }
        var queries = PrometheusQueries.emqxDefault
        if let query = settings.liveConnectionsQuery { queries.liveConnections = query }
        if let query = settings.connectionsQuery { queries.connections = query }
        if let query = settings.sessionsQuery { queries.sessions = query }
        configuration.queries = queries
        return configuration
    }
}

extension MetricSourceFactory {
    /// `emqx: {mode: nodes}`: one `GET /api/v5/nodes` per cluster, through the same client the EMQX API actuator uses.
    /// Asked at `url`, then the `targets`, then each expected node's own host, until one answers.
    func nodesSource(_ settings: EMQXScrapeSettings) throws -> EMQXNodesSource {
        let authorization = try settings.http.authorization(environment: environment).headerValue
        let tls = try settings.http.sourceTLS()?.configuration()
        let timeout = Duration.seconds(settings.http.timeout)
        let configured = (settings.url.map { [$0] } ?? []) + settings.targets.values.sorted()
        let scraping = try EMQXScrapeSource(
            configuration: .init(scheme: settings.scheme, port: settings.port),
            httpClient: httpClient
        )
        let client = httpClient
        return EMQXNodesSource(
            read: { _, expected in
                let urls = configured.isEmpty ? expected.map { scraping.baseURL(of: $0.name) } : configured
                let api = HTTPEMQXRebalanceAPI(
                    httpClient: client,
                    endpoint: .init(baseURLs: urls, authorization: authorization, tls: tls, timeout: timeout)
                )
                return try await api.nodes()
            },
            now: now
        )
    }
}

/// A source that could not be built: fails every cycle with the reason.
public struct FailingSource: MetricSource {
    public let kind: String
    public let message: String

    public init(kind: String, message: String) {
        self.kind = kind
        self.message = message
    }

    public func observe(_ request: ObservationRequest) async throws -> SourceObservation {
        throw ConfigurationError(message)
    }
}
