import AutorebalancerCore

/// The PromQL a ``PrometheusSource`` runs for one cluster, as templates.
///
/// `{{selector}}` is replaced by the cluster's label selector (without braces, e.g.
/// `namespace="default", cluster="emqx-ee"`) and `{{label}}` by the node label. Each query must return an instant
/// vector with one series per node carrying the node label. A query set to `nil` is not run (the quantity stays
/// unknown). The same metric names serve EMQX 5 and EMQX 4.4 (4.4.15 and later for live connections).
public struct PrometheusQueries: Sendable, Hashable {
    public var liveConnections: String?
    public var connections: String?
    public var sessions: String?

    public init(liveConnections: String?, connections: String?, sessions: String?) {
        self.liveConnections = liveConnections
        self.connections = connections
        self.sessions = sessions
    }

    /// `max by ({{label}}) (emqx_live_connections_count{{{selector}}})` and likewise for the other two: `max` because
    /// Prometheus may hold duplicate series of one node (two scrape jobs, a restarted pod keeping its name).
    public static let emqxDefault = PrometheusQueries(
        liveConnections: "max by ({{label}}) (emqx_live_connections_count{{{selector}}})",
        connections: "max by ({{label}}) (emqx_connections_count{{{selector}}})",
        sessions: "max by ({{label}}) (emqx_sessions_count{{{selector}}})"
    )

    /// Fills a template.
    public static func render(_ template: String, selector: String, label: String) -> String {
        template.replacingOccurrences(of: "{{selector}}", with: selector)
            .replacingOccurrences(of: "{{label}}", with: label)
    }
}

/// Which label selector a cluster's series carry.
public struct PrometheusSelector: Sendable, Hashable {
    /// Template used for clusters without an explicit selector; `{{namespace}}` and `{{name}}` are replaced.
    public var template: String
    /// Explicit selectors per cluster (`namespace/name`).
    public var perCluster: [String: String]

    public init(
        template: String = #"namespace="{{namespace}}", cluster="{{name}}""#,
        perCluster: [String: String] = [:]
    ) {
        self.template = template
        self.perCluster = perCluster
    }

    /// The selector (without braces) of one cluster.
    public func selector(for cluster: ClusterReference) -> String {
        if let explicit = perCluster[cluster.description] { return explicit }
        return template.replacingOccurrences(of: "{{namespace}}", with: cluster.namespace)
            .replacingOccurrences(of: "{{name}}", with: cluster.name)
    }
}
