import AutorebalancerCore
import Foundation
import Yams

/// Layer 1: a `kind: AgentConfig` document exactly as written, read leniently from YAML.
///
/// Reading reports YAML syntax, unknown keys (with a "did you mean"), wrong types, unreadable durations and numbers
/// beyond their field's documented maximum (`AgentConfiguration.Limits`: no value read can overflow a clock), and keeps
/// every readable value with its position; it checks no meaning (required keys, minima, URLs, combinations,
/// duplicates). That is layer 2, `AgentConfigValidator`, which builds the `AgentConfiguration`, as
/// `PolicyDocument` → `PolicyValidator` does for policies.
///
/// Every section keeps `written`: where each key that is present has its value, readable or not, so the validator can
/// tell "missing" from "written but unreadable" (already reported) and point at the right place.
struct AgentConfigDocument: Sendable, Hashable {
    typealias Limits = AgentConfiguration.Limits

    var location: SourceLocation
    var written: [String: SourceLocation] = [:]
    var apiVersion: Located<String>?
    var listen: Located<String>?
    var dryRun: Located<Bool>?
    var leaderElection: LeaderElection?
    var policies: Located<[Located<String>?]>?
    /// In the order written; an entry that is not a mapping stays in its place as `nil`.
    var clusters: Located<[Cluster?]>?
    var notifiers: Notifiers?
    var rebalances: Rebalances?

    struct LeaderElection: Sendable, Hashable {
        var location: SourceLocation
        var written: [String: SourceLocation] = [:]
        var enabled: Located<Bool>?
        var leaseName: Located<String>?
        var leaseNamespace: Located<String>?
        var leaseDuration: Located<TimeInterval>?
        var renewDeadline: Located<TimeInterval>?
        var retryPeriod: Located<TimeInterval>?
        var shards: Located<Int>?
    }

    struct Cluster: Sendable, Hashable {
        var location: SourceLocation
        var written: [String: SourceLocation] = [:]
        var namespace: Located<String>?
        var name: Located<String>?
        var kind: Located<String>?
        /// `nil` when not written or not a mapping.
        var selector: Selector?
        var policies: Located<[Located<String>?]>?
        var source: Source?
        var sources: Located<[Source?]>?
        var emqxAPI: EMQXEndpoint?
        /// Instead of an EMQX object: the cluster's EMQX API is all there is.
        var emqx: EMQXEndpoint?
        var actuator: Located<String>?
    }

    struct Selector: Sendable, Hashable {
        var location: SourceLocation
        var matchLabels: Located<[String: String]>?
    }

    /// One metric source: `status`, or a mapping with one of `prometheus:`, `emqx:`, `status:`.
    struct Source: Sendable, Hashable {
        var location: SourceLocation
        /// The scalar form as written (`status`, or anything else to reject).
        var word: Located<String>?
        /// Whether it is written as a mapping (anything else but a word was reported when read).
        var isMapping = false
        /// The keys of the mapping form that are written (even as `null`).
        var kinds: [String] = []
        var prometheus: Prometheus?
        /// Where `prometheus:` is written (its value may not be a mapping).
        var prometheusLocation: SourceLocation?
        var emqx: EMQXEndpoint?
    }

    struct Prometheus: Sendable, Hashable {
        var location: SourceLocation
        var url: Located<String>?
        var selector: Located<String>?
        var nodeLabel: Located<String>?
        var liveConnectionsQuery: Located<String>?
        var connectionsQuery: Located<String>?
        var sessionsQuery: Located<String>?
        var http: HTTP
    }

    /// The node endpoints of the `emqx` source, and of `emqxAPI` (or a cluster's `emqx:`).
    struct EMQXEndpoint: Sendable, Hashable {
        var location: SourceLocation
        var written: [String: SourceLocation] = [:]
        var scheme: Located<String>?
        var port: Located<Int>?
        var targets: Located<[String: Located<String>]>?
        var readUptime: Located<Bool>?
        /// The `emqx` source only: `scrape` or `nodes`, and the cluster's API for `nodes`.
        var mode: Located<String>?
        var url: Located<String>?
        /// EMQX's API only: one base URL for every node, and where the key comes from.
        var service: Located<String>?
        var apiKey: APIKey?
        var http: HTTP
    }

    /// `apiKey:` of EMQX's API: an Operator 3.0 `EMQXAPIKey`, or a mounted Secret.
    struct APIKey: Sendable, Hashable {
        var location: SourceLocation
        var emqxAPIKey: Located<String>?
        var secretDirectory: Located<String>?
    }

    /// The auth, CA and timeout keys every HTTP client section shares.
    struct HTTP: Sendable, Hashable {
        var location: SourceLocation
        var written: [String: SourceLocation] = [:]
        var bearerTokenFile: Located<String>?
        var bearerTokenEnv: Located<String>?
        var username: Located<String>?
        var passwordFile: Located<String>?
        var passwordEnv: Located<String>?
        var caFile: Located<String>?
        var insecureSkipVerify: Located<Bool>?
        var timeout: Located<TimeInterval>?
    }

    struct Notifiers: Sendable, Hashable {
        var location: SourceLocation
        var externalURL: Located<String>?
        var alertmanager: Alertmanager?
        var webhooks: Located<[Webhook?]>?
    }

    struct Alertmanager: Sendable, Hashable {
        var location: SourceLocation
        var urls: Located<[Located<String>?]>?
        var resendInterval: Located<TimeInterval>?
        var http: HTTP
    }

    struct Webhook: Sendable, Hashable {
        var location: SourceLocation
        var url: Located<String>?
        var bearerTokenFile: Located<String>?
        var bearerTokenEnv: Located<String>?
        var hmacSecretFile: Located<String>?
        var hmacSecretEnv: Located<String>?
        var timeout: Located<TimeInterval>?
    }

    struct Rebalances: Sendable, Hashable {
        var location: SourceLocation
        var keepFinished: Located<Int>?
        var settleTime: Located<TimeInterval>?
        var stuckAfter: Located<TimeInterval>?
        var createRetryBackoff: Located<TimeInterval>?
        var createRetryBackoffMax: Located<TimeInterval>?
        /// Where `createRetryBackoffMax` is written, even as `null`.
        var createRetryBackoffMaxWritten: SourceLocation?
        var alertAfterCreateFailures: Located<Int>?
    }
}

// MARK: Reading

extension AgentConfigDocument {
    /// Reads the document leniently; problems of form (not meaning) are reported through `reader`. `nil` when the
    /// text is not YAML or not a mapping.
    static func read(text: String, reader: YAMLReader) -> AgentConfigDocument? {
        guard let root = reader.parse(text) else { return nil }
        return YAMLSection.read(root, "", reader, name: "the document") { s in
            var document = AgentConfigDocument(location: s.location)
            document.apiVersion = s.string("apiVersion")
            // `kind` is how `check` tells the documents apart; nothing else reads it.
            _ = s.value("kind")
            document.listen = s.string("listen")
            document.dryRun = s.bool("dryRun")
            document.leaderElection = s.section("leaderElection", leaderElection)
            document.policies = s.strings("policies")
            document.clusters = s.list("clusters") { node, _, path in YAMLSection.read(node, path, reader, cluster) }
            document.notifiers = s.section("notifiers", notifiers)
            document.rebalances = s.section("rebalances", rebalances)
            document.written = s.locations
            return document
        }
    }

    static func leaderElection(_ s: YAMLSection) -> LeaderElection {
        var election = LeaderElection(location: s.location)
        election.enabled = s.bool("enabled")
        election.leaseName = s.string("leaseName")
        election.leaseNamespace = s.string("leaseNamespace")
        election.leaseDuration = s.duration("leaseDuration", maximum: Limits.hour)
        election.renewDeadline = s.duration("renewDeadline", maximum: Limits.hour)
        election.retryPeriod = s.duration("retryPeriod", maximum: Limits.hour)
        election.shards = s.int("shards", maximum: Limits.shards)
        election.written = s.locations
        return election
    }

    static func cluster(_ s: YAMLSection) -> Cluster {
        var cluster = Cluster(location: s.location)
        cluster.namespace = s.string("namespace")
        cluster.name = s.string("name")
        cluster.kind = s.string("kind")
        cluster.selector = s.section("selector") {
            Selector(location: $0.location, matchLabels: $0.stringMap("matchLabels"))
        }
        cluster.policies = s.strings("policies")
        cluster.source = s.value("source").map { source($0, s.path("source"), s.reader) }
        cluster.sources = s.list("sources") { node, _, path in source(node, path, s.reader) }
        cluster.emqxAPI = s.section("emqxAPI") { endpoint($0, for: .api) }
        cluster.emqx = s.section("emqx") { endpoint($0, for: .api) }
        cluster.actuator = s.string("actuator")
        cluster.written = s.locations
        return cluster
    }

    static func source(_ node: Node, _ path: String, _ reader: YAMLReader) -> Source {
        var source = Source(location: reader.location(of: node))
        if let text = node.string, node.mapping == nil {
            source.word = Located(text, at: source.location)
            return source
        }
        source.isMapping = node.mapping != nil
        _ = YAMLSection.read(node, path, reader) { s in
            source.kinds = ["prometheus", "emqx", "status"].filter { s.isWritten($0) }
            source.prometheusLocation = s.writtenLocation("prometheus")
            source.prometheus = YAMLSection.read(s.writtenNode("prometheus"), s.path("prometheus"), reader, prometheus)
            if source.kinds.contains("emqx") {
                // `emqx:` with no settings (or `null`) means every default.
                source.emqx =
                    s.section("emqx") { endpoint($0, for: .scrape) }
                    ?? EMQXEndpoint(location: source.location, http: HTTP(location: source.location))
            }
        }
        return source
    }

    static func prometheus(_ s: YAMLSection) -> Prometheus {
        let url = s.string("url")
        let selector = s.string("selector")
        let nodeLabel = s.string("nodeLabel")
        var prometheus = Prometheus(
            location: s.location,
            url: url,
            selector: selector,
            nodeLabel: nodeLabel,
            http: HTTP(location: s.location)
        )
        _ = s.section("queries") { q in
            prometheus.liveConnectionsQuery = q.string("liveConnections")
            prometheus.connectionsQuery = q.string("connections")
            prometheus.sessionsQuery = q.string("sessions")
        }
        prometheus.http = http(s)
        return prometheus
    }

    /// Which endpoint a section describes: the `emqx` metric source, or EMQX's management API.
    enum EndpointUse { case scrape, api }

    static func endpoint(_ s: YAMLSection, for use: EndpointUse) -> EMQXEndpoint {
        var endpoint = EMQXEndpoint(location: s.location, http: HTTP(location: s.location))
        endpoint.scheme = s.string("scheme")
        endpoint.port = s.int("port", maximum: 65535)
        endpoint.targets = s.locatedStringMap("targets")
        switch use {
        case .scrape:
            endpoint.readUptime = s.bool("readUptime")
            endpoint.mode = s.string("mode")
            endpoint.url = s.string("url")
        case .api:
            endpoint.service = s.string("service")
            endpoint.apiKey = s.section("apiKey") { key in
                APIKey(
                    location: key.location,
                    emqxAPIKey: key.string("emqxAPIKey"),
                    secretDirectory: key.string("secretDirectory")
                )
            }
        }
        endpoint.http = http(s)
        endpoint.written = s.locations
        return endpoint
    }

    static func http(_ s: YAMLSection) -> HTTP {
        var http = HTTP(location: s.location)
        http.bearerTokenFile = s.string("bearerTokenFile")
        http.bearerTokenEnv = s.string("bearerTokenEnv")
        http.username = s.string("username")
        http.passwordFile = s.string("passwordFile")
        http.passwordEnv = s.string("passwordEnv")
        http.caFile = s.string("caFile")
        http.insecureSkipVerify = s.bool("insecureSkipVerify")
        http.timeout = s.duration("timeout", maximum: Limits.requestTimeout)
        http.written = s.locations
        return http
    }

    static func notifiers(_ s: YAMLSection) -> Notifiers {
        var notifiers = Notifiers(location: s.location)
        notifiers.alertmanager = s.section("alertmanager") { am in
            Alertmanager(
                location: am.location,
                urls: am.strings("urls"),
                resendInterval: am.duration("resendInterval", maximum: Limits.day),
                http: http(am)
            )
        }
        notifiers.webhooks = s.list("webhooks") { node, _, path in
            YAMLSection.read(node, path, s.reader) { hook in
                var webhook = Webhook(location: hook.location)
                webhook.url = hook.string("url")
                webhook.bearerTokenFile = hook.string("bearerTokenFile")
                webhook.bearerTokenEnv = hook.string("bearerTokenEnv")
                webhook.hmacSecretFile = hook.string("hmacSecretFile")
                webhook.hmacSecretEnv = hook.string("hmacSecretEnv")
                webhook.timeout = hook.duration("timeout", maximum: Limits.requestTimeout)
                return webhook
            }
        }
        notifiers.externalURL = s.string("externalURL")
        return notifiers
    }

    static func rebalances(_ s: YAMLSection) -> Rebalances {
        var rebalances = Rebalances(location: s.location)
        rebalances.keepFinished = s.int("keepFinished")
        rebalances.settleTime = s.duration("settleTime", maximum: Limits.day)
        rebalances.stuckAfter = s.duration("stuckAfter")
        rebalances.createRetryBackoff = s.duration("createRetryBackoff")
        rebalances.createRetryBackoffMax = s.duration("createRetryBackoffMax")
        rebalances.createRetryBackoffMaxWritten = s.writtenLocation("createRetryBackoffMax")
        rebalances.alertAfterCreateFailures = s.int("alertAfterCreateFailures")
        return rebalances
    }
}
