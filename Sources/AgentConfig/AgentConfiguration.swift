import AutorebalancerCore
import Foundation

/// The agent's configuration (`run --config FILE`, `kind: AgentConfig`): which clusters to watch, where their metrics
/// come from, which policies apply, leader election, notifiers and how Rebalances are followed.
///
/// The policies own every timing of the decision (evaluation interval, staleness, `for`, cooldown); this file only
/// chooses which policies apply to which clusters. See docs/configuration.md.
public struct AgentConfiguration: Sendable, Hashable {
    /// Admin server address (`/metrics`, `/healthz`, `/readyz`). Default `0.0.0.0:9090`.
    public var listen: ListenAddress
    /// Never write to Kubernetes; log and export what would be done. Default `false`.
    public var dryRun: Bool
    public var leaderElection: LeaderElectionSettings
    /// Policy files or directories (every `*.yaml`/`*.yml` inside), resolved against the config file's directory.
    public var policyPaths: [String]
    public var clusters: [ClusterSettings]
    public var notifiers: NotifierSettings
    public var rebalances: RebalanceSettings

    public init(
        listen: ListenAddress = .init(),
        dryRun: Bool = false,
        leaderElection: LeaderElectionSettings = .init(),
        policyPaths: [String] = [],
        clusters: [ClusterSettings] = [],
        notifiers: NotifierSettings = .init(),
        rebalances: RebalanceSettings = .init()
    ) {
        self.listen = listen
        self.dryRun = dryRun
        self.leaderElection = leaderElection
        self.policyPaths = policyPaths
        self.clusters = clusters
        self.notifiers = notifiers
        self.rebalances = rebalances
    }

    public static let apiVersion = "autorebalancer.emqx.io/v1alpha1"
    public static let kind = "AgentConfig"

    /// The documented maxima of durations (docs/configuration.md); any other duration is at most a year.
    public enum Limits {
        /// Per-request timeouts of sources and notifiers: five minutes, so a fallback list's budget stays bounded.
        public static let requestTimeout: TimeInterval = 300
        /// Leader-election durations.
        public static let hour: TimeInterval = 3600
        /// `settleTime`, `resendInterval`.
        public static let day: TimeInterval = 86_400
        /// `leaderElection.shards`: every replica lists and may renew that many Leases each retry period.
        public static let shards = 256
    }
}

/// `host:port` the admin server binds.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String = "0.0.0.0", port: Int = 9090) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// `leaderElection:`. Only the leader writes; every replica evaluates and serves metrics.
public struct LeaderElectionSettings: Sendable, Hashable {
    /// Default `true`. Turn off only when exactly one replica runs (the sidecar layout).
    public var enabled: Bool
    /// Lease name, default `emqx-autorebalancer`.
    public var leaseName: String
    /// Lease namespace; default the pod's namespace (service-account namespace file) or `default`.
    public var leaseNamespace: String?
    /// Default 15 s.
    public var leaseDuration: TimeInterval
    /// Default 10 s.
    public var renewDeadline: TimeInterval
    /// Default 2 s.
    public var retryPeriod: TimeInterval
    /// How many shards the watched clusters are split into, each with its own Lease (`<leaseName>-shard-<i>`), so
    /// that several replicas share the work. Default 1: one Lease named `leaseName`; the leader writes for every
    /// cluster and the other replicas stand by.
    public var shards: Int

    public init(
        enabled: Bool = true,
        leaseName: String = "emqx-autorebalancer",
        leaseNamespace: String? = nil,
        leaseDuration: TimeInterval = 15,
        renewDeadline: TimeInterval = 10,
        retryPeriod: TimeInterval = 2,
        shards: Int = 1
    ) {
        self.shards = shards
        self.enabled = enabled
        self.leaseName = leaseName
        self.leaseNamespace = leaseNamespace
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
    }
}

/// One `clusters[]` entry: a named EMQX object, or a label selector over EMQX objects.
public struct ClusterSettings: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        /// One EMQX object.
        case named(ClusterReference)
        /// Every EMQX object of `kind` matching the labels, in one namespace or (nil) all namespaces.
        case selector(namespace: String?, kind: InstanceKind, matchLabels: [String: String])
    }

    public var target: Target
    /// Policy names (`metadata.name`) applying to this cluster; empty means every loaded policy.
    public var policies: [String]
    /// Metric sources in fallback order: the first that answers is used for a cycle.
    public var sources: [SourceSettings]
    /// EMQX management API access: to act through EMQX's load_rebalance API, to read a cluster without an EMQX object,
    /// and to double-check `global_status` after a `Failed ... is not ready`.
    public var emqxAPI: EMQXAPISettings?
    /// `actuator:`: how the agent may act on the cluster (default `auto`).
    public var actuator: ActuatorSetting
    /// `false` for an entry given as `emqx:` (no EMQX object: the cluster is read from and acted on through EMQX's
    /// own API, `emqxAPI` holds its settings).
    public var hasObject: Bool

    public init(
        target: Target,
        policies: [String] = [],
        sources: [SourceSettings] = [.status],
        emqxAPI: EMQXAPISettings? = nil,
        actuator: ActuatorSetting = .auto,
        hasObject: Bool = true
    ) {
        self.target = target
        self.policies = policies
        self.sources = sources
        self.emqxAPI = emqxAPI
        self.actuator = actuator
        self.hasObject = hasObject
    }
}

extension ClusterSettings {
    /// Whether this entry watches `cluster` (by name, or by a selector's namespace and kind).
    public func covers(_ cluster: ClusterReference) -> Bool {
        switch target {
        case .named(let reference): reference == cluster
        case .selector(let namespace, let kind, _):
            kind == cluster.kind && (namespace ?? "default") == cluster.namespace
        }
    }
}

/// Where a secret comes from. Secrets are never written inline in the config file, and never logged.
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    case file(String)
    case environment(String)

    /// Reads the secret (trailing newline trimmed), given the process environment as a value.
    public func resolve(environment: [String: String]) throws -> String {
        switch self {
        case .file(let path):
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                return text.trimmingCharacters(in: .newlines)
            } catch {
                throw ConfigurationError("cannot read secret file \(path): \(error.localizedDescription)")
            }
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                throw ConfigurationError("environment variable \(name) (named in the configuration) is not set")
            }
            return value
        }
    }

    public var description: String {
        switch self {
        case .file(let path): "file \(path)"
        case .environment(let name): "environment variable \(name)"
        }
    }
}

/// HTTP authentication for a source or notifier.
public enum HTTPAuthSettings: Sendable, Hashable {
    case bearer(token: SecretReference)
    case basic(username: String, password: SecretReference)
}

/// TLS and timeout settings shared by the HTTP clients.
public struct HTTPClientSettings: Sendable, Hashable {
    public var auth: HTTPAuthSettings?
    /// PEM CA bundle to trust in addition to the system's.
    public var caFile: String?
    /// Skip certificate verification (logged loudly).
    public var insecureSkipVerify: Bool
    /// Per-request timeout, default 10 s.
    public var timeout: TimeInterval

    public init(
        auth: HTTPAuthSettings? = nil,
        caFile: String? = nil,
        insecureSkipVerify: Bool = false,
        timeout: TimeInterval = 10
    ) {
        self.auth = auth
        self.caFile = caFile
        self.insecureSkipVerify = insecureSkipVerify
        self.timeout = timeout
    }
}

/// One metric source of a cluster.
public enum SourceSettings: Sendable, Hashable {
    /// The Prometheus HTTP API.
    case prometheus(PrometheusSettings)
    /// Direct scrape of every EMQX node's Prometheus endpoint.
    case emqx(EMQXScrapeSettings)
    /// The EMQX object's status (refreshed by the operator; EMQX 5 only for connection rules).
    case status

    public var kind: String {
        switch self {
        case .prometheus: "prometheus"
        case .emqx: "emqx"
        case .status: "status"
        }
    }
}

public struct PrometheusSettings: Sendable, Hashable {
    public var url: String
    /// PromQL label matchers added to every default query, e.g. `namespace="emqx", cluster="emqx-ee"`.
    public var selector: String?
    /// The label naming the node (`node`, `pod` or `instance`); default `node`.
    public var nodeLabel: String?
    /// Full PromQL overrides; each must return one series per node.
    public var liveConnectionsQuery: String?
    public var connectionsQuery: String?
    public var sessionsQuery: String?
    public var http: HTTPClientSettings

    public init(
        url: String,
        selector: String? = nil,
        nodeLabel: String? = nil,
        liveConnectionsQuery: String? = nil,
        connectionsQuery: String? = nil,
        sessionsQuery: String? = nil,
        http: HTTPClientSettings = .init()
    ) {
        self.url = url
        self.selector = selector
        self.nodeLabel = nodeLabel
        self.liveConnectionsQuery = liveConnectionsQuery
        self.connectionsQuery = connectionsQuery
        self.sessionsQuery = sessionsQuery
        self.http = http
    }
}

public struct EMQXScrapeSettings: Sendable, Hashable {
    /// How the nodes are read.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Every node's own Prometheus endpoint, one request per node (the default).
        case scrape
        /// One `GET /api/v5/nodes` per cluster for every node's counts (EMQX 5; needs an API key).
        case nodes
    }

    public var mode: Mode
    /// `nodes` mode: the cluster's EMQX API (e.g. `http://emqx-dashboard.emqx.svc:18083`), asked before the nodes.
    public var url: String?
    /// `http` or `https`; default `http`.
    public var scheme: String
    /// Dashboard/REST port; default 18083 (EMQX 5). EMQX 4.4 serves the same on 8081 too.
    public var port: Int
    /// Explicit node → base URL map (overrides the host taken from the node name).
    public var targets: [String: String]
    /// Also read `GET /api/v5/nodes` for uptime (needs an API key).
    public var readUptime: Bool
    public var http: HTTPClientSettings

    public init(
        mode: Mode = .scrape,
        url: String? = nil,
        scheme: String = "http",
        port: Int = 18083,
        targets: [String: String] = [:],
        readUptime: Bool = false,
        http: HTTPClientSettings = .init()
    ) {
        self.mode = mode
        self.url = url
        self.scheme = scheme
        self.port = port
        self.targets = targets
        self.readUptime = readUptime
        self.http = http
    }
}

/// EMQX management API access for one cluster (an API key and its secret, sent as basic auth).
public struct EMQXAPISettings: Sendable, Hashable {
    public var scheme: String
    public var port: Int
    /// Explicit node → base URL map.
    public var targets: [String: String]
    /// One base URL that reaches every node (a Service), e.g. `http://emqx-dashboard.emqx.svc:18083`.
    public var service: String?
    /// Where the API key comes from, when not as `username` and `passwordFile`/`passwordEnv` in `http`.
    public var apiKey: EMQXAPIKeySource?
    public var http: HTTPClientSettings

    public init(
        scheme: String = "http",
        port: Int = 18083,
        targets: [String: String] = [:],
        service: String? = nil,
        apiKey: EMQXAPIKeySource? = nil,
        http: HTTPClientSettings = .init()
    ) {
        self.scheme = scheme
        self.port = port
        self.targets = targets
        self.service = service
        self.apiKey = apiKey
        self.http = http
    }

    /// The base URLs reads are tried at, in order (writes go to the first): the targets, else the service, else the
    /// operator's dashboard Service of the cluster (`<name>-dashboard.<namespace>.svc`).
    public func baseURLs(for cluster: ClusterReference) -> [String] {
        if !targets.isEmpty { return targets.values.sorted() }
        if let service { return [service] }
        return ["\(scheme)://\(cluster.name)-dashboard.\(cluster.namespace).svc:\(port)"]
    }
}

/// `emqxAPI.apiKey`: an EMQX API key and its secret, never written in the configuration itself.
public enum EMQXAPIKeySource: Sendable, Hashable, CustomStringConvertible {
    /// A Secret mounted as a directory, with files `apiKey` and `apiSecret` (the `EMQXAPIKey` Secret's own keys).
    case secretDirectory(String)
    /// An Operator 3.0 `EMQXAPIKey` in the cluster's namespace; the agent reads the Secret it names.
    case emqxAPIKey(name: String)

    public var description: String {
        switch self {
        case .secretDirectory(let path): "the Secret mounted at \(path)"
        case .emqxAPIKey(let name): "EMQXAPIKey \(name)"
        }
    }
}

public struct NotifierSettings: Sendable, Hashable {
    /// Every Alertmanager replica (alerts go to all of them, not through a load balancer).
    public var alertmanagerURLs: [String]
    /// Re-send active alerts this often (default 1 m).
    public var resendInterval: TimeInterval
    public var alertmanagerHTTP: HTTPClientSettings
    public var webhooks: [WebhookSettings]
    /// `generatorURL` of alerts (e.g. a Grafana dashboard link); optional.
    public var externalURL: String?

    public init(
        alertmanagerURLs: [String] = [],
        resendInterval: TimeInterval = 60,
        alertmanagerHTTP: HTTPClientSettings = .init(),
        webhooks: [WebhookSettings] = [],
        externalURL: String? = nil
    ) {
        self.alertmanagerURLs = alertmanagerURLs
        self.resendInterval = resendInterval
        self.alertmanagerHTTP = alertmanagerHTTP
        self.webhooks = webhooks
        self.externalURL = externalURL
    }
}

public struct WebhookSettings: Sendable, Hashable {
    public var url: String
    public var bearerToken: SecretReference?
    /// Secret for the `X-Autorebalancer-Signature: sha256=<hex>` HMAC header.
    public var hmacSecret: SecretReference?
    public var timeout: TimeInterval

    public init(
        url: String,
        bearerToken: SecretReference? = nil,
        hmacSecret: SecretReference? = nil,
        timeout: TimeInterval = 10
    ) {
        self.url = url
        self.bearerToken = bearerToken
        self.hmacSecret = hmacSecret
        self.timeout = timeout
    }
}

/// How created Rebalances are followed and cleaned up.
public struct RebalanceSettings: Sendable, Hashable {
    /// Finished Rebalances of ours kept per cluster; older ones are deleted. Default 5.
    public var keepFinished: Int
    /// Wait after `Completed` before judging the outcome from metrics (clients reconnect). Default 60 s.
    public var settleTime: TimeInterval
    /// A Rebalance in `Processing` longer than this is reported as stuck (alerted, never deleted). Default 30 m.
    public var stuckAfter: TimeInterval
    /// How a failed create of a decided Rebalance is retried while the rule keeps firing (`createRetryBackoff`
    /// default 30 s, doubling up to `createRetryBackoffMax` default 10 m), and after how many failures in a row an
    /// Event and an alert are raised (`alertAfterCreateFailures`, default 3). Takes effect on the next cycle after a
    /// reload.
    public var createRetry: CreateRetryPolicy

    public init(
        keepFinished: Int = 5,
        settleTime: TimeInterval = 60,
        stuckAfter: TimeInterval = 1800,
        createRetry: CreateRetryPolicy = .default
    ) {
        self.keepFinished = keepFinished
        self.settleTime = settleTime
        self.stuckAfter = stuckAfter
        self.createRetry = createRetry
    }
}

/// A configuration problem found after loading (a secret that cannot be read), worded for the user.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
