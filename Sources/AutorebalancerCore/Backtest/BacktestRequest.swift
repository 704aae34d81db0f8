import Foundation

/// What a `backtest` run is asked to do, from its options as written: checked, and parsed once, before any file is
/// read or any query sent (a problem is a usage error).
public struct BacktestRequest: Sendable, Hashable {
    /// The options as the command line gave them.
    public struct Options: Sendable, Hashable {
        public var policy: String?
        public var connections: String?
        public var sessions: String?
        public var prometheus: String?
        public var config: String?
        public var cluster: String?
        public var start: String?
        public var end: String?
        public var step: String?
        public var lookback: String

        public init(
            policy: String? = nil,
            connections: String? = nil,
            sessions: String? = nil,
            prometheus: String? = nil,
            config: String? = nil,
            cluster: String? = nil,
            start: String? = nil,
            end: String? = nil,
            step: String? = nil,
            lookback: String = "5m"
        ) {
            self.policy = policy
            self.connections = connections
            self.sessions = sessions
            self.prometheus = prometheus
            self.config = config
            self.cluster = cluster
            self.start = start
            self.end = end
            self.step = step
            self.lookback = lookback
        }
    }

    /// Where the history comes from.
    public enum History: Sendable, Hashable {
        /// Saved `/api/v1/query_range` answers.
        case files(connections: String, sessions: String?)
        /// Fetched from `prometheus`, or from the Prometheus source of the agent configuration `config` (its URL
        /// replaced by `prometheus` when both are given).
        case live(prometheus: String?, config: String?, range: BacktestRange)
    }

    public var policy: String
    public var history: History
    /// `--cluster`; without it, the configuration's only cluster or the series' labels say.
    public var cluster: ClusterReference?
    public var lookback: TimeInterval
    /// `--step`; without it, every timestamp of saved files is evaluated.
    public var step: TimeInterval?

    public init(_ options: Options, now: Date) throws(BacktestArguments.Problem) {
        typealias Problem = BacktestArguments.Problem
        guard let policy = options.policy else {
            throw Problem("give --policy <file> (a kind: Policy file, e.g. rules/default.yaml)")
        }
        self.policy = policy
        lookback = try BacktestArguments.duration(options.lookback, option: "--lookback")
        step = try options.step.map { step throws(Problem) in try BacktestArguments.duration(step, option: "--step") }
        cluster = try options.cluster.map { cluster throws(Problem) in try BacktestArguments.cluster(cluster) }
        if options.prometheus != nil || options.config != nil {
            let option = options.prometheus != nil ? "--prometheus" : "--config"
            guard options.connections == nil, options.sessions == nil else {
                throw Problem(
                    "use either --connections/--sessions (saved files) or --prometheus/--config (live), not both"
                )
            }
            if let prometheus = options.prometheus { try Self.checkPrometheusURL(prometheus) }
            guard let start = options.start else {
                throw Problem("\(option) needs --start <time> (RFC 3339, Unix seconds or now-6h)")
            }
            guard let step = options.step else {
                throw Problem("\(option) needs --step <duration> (e.g. 30s), the resolution of the query")
            }
            let range = try BacktestArguments.range(start: start, end: options.end, step: step, now: now)
            if options.config == nil, cluster == nil {
                throw Problem(
                    "--prometheus needs --cluster <namespace/name> to select the cluster's series (e.g. --cluster emqx/emqx-ee)"
                )
            }
            history = .live(prometheus: options.prometheus, config: options.config, range: range)
        } else {
            guard let connections = options.connections else {
                throw Problem(
                    "give --connections <file> (a saved /api/v1/query_range answer), or --prometheus <url> --cluster <namespace/name> --start <time> --step <duration>"
                )
            }
            for (value, name) in [(options.start, "--start"), (options.end, "--end")] where value != nil {
                throw Problem(
                    "\(name) only applies with --prometheus or --config; a saved file already covers its own time range"
                )
            }
            history = .files(connections: connections, sessions: options.sessions)
        }
    }

    /// The base URL of a Prometheus server: http or https, with a host.
    static func checkPrometheusURL(_ text: String) throws(BacktestArguments.Problem) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw BacktestArguments.Problem(
                "--prometheus \(text): expected the Prometheus server's base URL, http:// or https:// and a host, e.g. http://prometheus-operated.monitoring.svc:9090"
            )
        }
    }
}
