import Agent
import ArgumentParser
import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Observe

/// `backtest`: replays Prometheus history through a policy and prints what the agent would have decided.
struct BacktestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract:
            "Replay Prometheus history (query_range answers) through a policy: the decisions the agent would have made.",
        usage: """
            emqx-autorebalancer backtest --policy <file> --connections <file> [--sessions <file>] [<options>]
            emqx-autorebalancer backtest --policy <file> --prometheus <url> --cluster <namespace/name> --start <time> [--end <time>] --step <duration> [<options>]
            emqx-autorebalancer backtest --policy <file> --config <file> [--cluster <namespace/name>] --start <time> [--end <time>] --step <duration> [<options>]
            """,
        discussion: """
            Inputs are saved /api/v1/query_range answers (one series per node), or fetched live with --prometheus \
            (or the Prometheus source of an agent --config). Cluster facts not in the metrics (Ready, upgrades) are \
            assumed fine. Exits 1 on unusable input (an unreadable file, a bad policy, a failed query), 2 on wrong \
            options, found before anything is read or fetched. See docs/backtest.md.

            Examples:
              emqx-autorebalancer backtest --policy rules/default.yaml \\
                --connections connections.json --sessions sessions.json
              emqx-autorebalancer backtest --policy rules/default.yaml \\
                --prometheus http://127.0.0.1:9090 --cluster emqx/emqx-ee \\
                --start now-7d --step 1m --plot week.html
              emqx-autorebalancer backtest --policy rules/default.yaml \\
                --config agent.yaml --start now-1d --step 30s --format json
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    // Optional to the parser so that a missing policy is reported like every other usage problem (exit 2).
    @Option(help: ArgumentHelp("The policy file (kind: Policy). Required.", valueName: "file"))
    var policy: String?

    @Option(
        help: ArgumentHelp(
            "A saved /api/v1/query_range answer (JSON) of live connections, one series per node.",
            valueName: "file"
        )
    )
    var connections: String?

    @Option(
        help: ArgumentHelp(
            "A saved /api/v1/query_range answer (JSON) of sessions, same nodes (optional: without it, session thresholds are skipped).",
            valueName: "file"
        )
    )
    var sessions: String?

    @Option(
        help: ArgumentHelp("The label naming the node (default: node, else pod, else instance).", valueName: "label")
    )
    var nodeLabel: String?

    @Option(
        help: ArgumentHelp(
            "The cluster as namespace/name (default: the --config's only cluster, else the series' namespace and cluster labels, else default/emqx).",
            valueName: "namespace/name"
        )
    )
    var cluster: String?

    @Option(
        help: ArgumentHelp(
            "Evaluation step, e.g. 30s (default: every timestamp of the input). With --prometheus, also the query resolution (required).",
            valueName: "duration"
        )
    )
    var step: String?

    @Option(
        help: ArgumentHelp(
            "How long a sample stays usable after its time, like Prometheus's lookback.",
            valueName: "duration"
        )
    )
    var lookback: String = "5m"

    @Option(
        help: ArgumentHelp(
            "Output format: text or json (one decision record per line, then one summary line).",
            valueName: "format"
        )
    )
    var format: Format = .text

    @Flag(help: "Also show the steps where a rule was held back (action blocked, with the reason).")
    var explain = false

    @Option(
        help: ArgumentHelp(
            "Write a chart of per-node connections with the decisions marked: file.svg, or file.html for a page with tooltips and a table of decisions.",
            valueName: "file"
        )
    )
    var plot: String?

    @Option(
        help: ArgumentHelp(
            "Fetch the history live from this Prometheus server instead of --connections/--sessions.",
            valueName: "url"
        )
    )
    var prometheus: String?

    @Option(
        help: ArgumentHelp(
            "With --prometheus: start time (RFC 3339, Unix seconds, or now-DURATION such as now-6h).",
            valueName: "time"
        )
    )
    var start: String?

    @Option(
        help: ArgumentHelp(
            "With --prometheus: end time (RFC 3339, Unix seconds, now, or now-DURATION; default now).",
            valueName: "time"
        )
    )
    var end: String?

    @Option(
        help: ArgumentHelp(
            "Fetch live using the Prometheus source (URL, selector, node label, queries, auth, TLS) of this agent configuration's cluster (kind: AgentConfig).",
            valueName: "file"
        )
    )
    var config: String?

    /// Every problem of the options themselves, before any file is read or any query sent (exit 2). What needs a
    /// file's content (a --config without a prometheus source, a policy with errors) is found by `run`.
    func validate() throws {
        do {
            _ = try BacktestRequest(options, now: Date())
        } catch {
            throw ValidationError(error.description)
        }
        if let plot { try ChartFile.validate(plot) }
    }

    var options: BacktestRequest.Options {
        BacktestRequest.Options(
            policy: policy,
            connections: connections,
            sessions: sessions,
            prometheus: prometheus,
            config: config,
            cluster: cluster,
            start: start,
            end: end,
            step: step,
            lookback: lookback
        )
    }

    func run() async throws {
        do {
            try await backtest(try BacktestRequest(options, now: Date()))
        } catch let error as UsageProblem {
            Self.standardError("error: \(error)")
            Self.standardError("usage: see `emqx-autorebalancer backtest --help` and docs/backtest.md")
            throw ExitCode(2)
        } catch let error as InputProblem {
            Self.standardError("error: \(error.message)")
            throw ExitCode(1)
        } catch let error as BacktestInputError {
            Self.standardError("error: \(error)")
            throw ExitCode(1)
        }
    }

    // MARK: Run

    /// What remains to fail is input.
    func backtest(_ request: BacktestRequest) async throws {
        let policy = try loadPolicy(request.policy)
        let input: Input
        switch request.history {
        case .files(let connections, let sessions):
            input = try loadFiles(connections: connections, sessions: sessions)
        case .live(let prometheus, let config, let range):
            input = try await fetchLive(prometheus: prometheus, config: config, cluster: request.cluster, range: range)
        }
        let stepSeconds = request.step ?? input.step
        let clusterReference = request.cluster ?? input.cluster ?? ClusterReference(namespace: "default", name: "emqx")
        if let stepSeconds, let steps = BacktestRunner.stepCount(input.connections, step: stepSeconds),
            steps > Double(BacktestRunner.maximumSteps)
        {
            throw UsageProblem(
                "--step \(step ?? ""): the input's time range is \(BalanceEvaluation.format(steps)) steps at that step; at most \(BacktestRunner.maximumSteps) are replayed (choose a longer step)"
            )
        }
        let report = BacktestRunner.run(
            policy: policy,
            connections: input.connections,
            sessions: input.sessions,
            options: .init(cluster: clusterReference, lookback: request.lookback, step: stepSeconds)
        ) { done, total in
            guard format == .text, done % 10_000 == 0 else { return }
            Self.standardError("backtest: \(done)/\(total) steps")
        }
        let lines =
            format == .text
            ? BacktestOutput.textLines(report, explain: explain) : BacktestOutput.jsonLines(report, explain: explain)
        for line in lines { print(line) }
        if let plot {
            let title = "backtest of \(policy.identifier) on \(clusterReference)"
            let document =
                try ChartFile.kind(of: plot) == .html
                ? BacktestOutput.html(report, title: title)
                : BacktestOutput.plot(report, title: title).svg()
            do {
                try document.write(toFile: plot, atomically: true, encoding: .utf8)
            } catch {
                throw InputProblem("\(plot): cannot write the chart (\(error.localizedDescription))")
            }
            if format == .text { Self.standardError("chart written to \(plot)") }
        }
    }

    /// The series to replay, from files or a live Prometheus.
    struct Input {
        var connections: [BacktestSeries]
        var sessions: [BacktestSeries]?
        var cluster: ClusterReference?
        var step: TimeInterval?
    }

    func loadPolicy(_ file: String) throws -> Policy {
        let text: String
        switch TextFile.read(file) {
        case .success(let read): text = read
        case .failure(let problem): throw InputProblem("\(file): cannot read the policy file: it \(problem)")
        }
        let result = PolicyLoader.load(text: text, file: file)
        for diagnostic in result.diagnostics.sortedByLocation() where diagnostic.severity == .error {
            Self.standardError(diagnostic.description)
        }
        guard let loaded = result.policy, !result.diagnostics.hasErrors else {
            throw InputProblem(
                "\(file): the policy has errors (above); `emqx-autorebalancer check \(file)` lists them all"
            )
        }
        return loaded
    }

    func loadFiles(connections: String, sessions: String?) throws -> Input {
        let connectionSeries = try BacktestMatrix.series(
            from: read(connections),
            file: connections,
            nodeLabel: nodeLabel
        )
        let sessionSeries = try sessions.map { sessions in
            let series = try BacktestMatrix.series(from: read(sessions), file: sessions, nodeLabel: nodeLabel)
            try BacktestMatrix.checkSameNodes(
                connections: connectionSeries,
                connectionsFile: connections,
                sessions: series,
                sessionsFile: sessions
            )
            return series
        }
        return Input(
            connections: connectionSeries,
            sessions: sessionSeries,
            cluster: BacktestMatrix.clusterFromLabels(connectionSeries)
        )
    }

    /// A saved answer: exports of a long range over many nodes run to tens of megabytes, never near this.
    static let maximumInputSize = 512 << 20

    func read(_ file: String) throws -> Data {
        switch TextFile.read(bytesOf: file, maximumSize: Self.maximumInputSize) {
        case .success(let data): return data
        case .failure(let problem): throw InputProblem("\(file): cannot read the file: it \(problem)")
        }
    }

    // MARK: Live

    /// The history from `prometheus`, or from the Prometheus source of the `config`'s cluster.
    func fetchLive(
        prometheus: String?,
        config: String?,
        cluster: ClusterReference?,
        range: BacktestRange
    ) async throws -> Input {
        var settings = PrometheusSettings(url: prometheus ?? "", http: .init(timeout: 30))
        var cluster = cluster
        if let config {
            let chosen = try prometheusSource(fromConfig: config, for: cluster)
            settings = chosen.settings
            settings.url = prometheus ?? settings.url
            cluster = cluster ?? chosen.cluster
        }
        guard let cluster else {
            throw UsageProblem("--prometheus needs --cluster <namespace/name> to select the cluster's series")
        }
        settings.nodeLabel = nodeLabel ?? settings.nodeLabel
        let source: PrometheusSource
        do {
            let configuration = try MetricSourceFactory.configuration(
                settings,
                environment: ProcessInfo.processInfo.environment
            )
            source = try PrometheusSource(configuration: configuration, httpClient: HTTPClient.shared)
        } catch {
            throw InputProblem("\(settings.url): cannot set up the Prometheus client (\(error))")
        }
        let history = try await source.history(of: cluster, over: range, nodeLabel: settings.nodeLabel)
        for warning in history.warnings { Self.standardError("warning: \(warning)") }
        return Input(connections: history.connections, sessions: history.sessions, cluster: cluster, step: range.step)
    }

    /// The Prometheus source of the `--config`'s cluster (`--cluster`, or its only one).
    func prometheusSource(
        fromConfig file: String,
        for wanted: ClusterReference?
    ) throws -> (settings: PrometheusSettings, cluster: ClusterReference?) {
        let text: String
        switch TextFile.read(file) {
        case .success(let read): text = read
        case .failure(let problem): throw InputProblem("\(file): cannot read the agent configuration: it \(problem)")
        }
        let result = AgentConfiguration.load(text: text, file: file)
        for diagnostic in result.diagnostics where diagnostic.severity == .error {
            Self.standardError(diagnostic.description)
        }
        guard let configuration = result.configuration else {
            throw InputProblem(
                "\(file): the agent configuration has errors (above); `emqx-autorebalancer check \(file)` lists them all"
            )
        }
        do {
            return try configuration.prometheusSource(for: wanted)
        } catch .noMatchingCluster {
            throw UsageProblem(
                "\(file): no cluster entry matches \(wanted?.description ?? "(no --cluster)"); pass --cluster <namespace/name> of a configured cluster"
            )
        } catch .severalClusters {
            throw UsageProblem("\(file) configures several clusters; pass --cluster <namespace/name> to pick one")
        } catch .noPrometheusSource(let reference) {
            throw InputProblem(
                "\(file): the cluster \(reference?.description ?? wanted?.description ?? "") has no prometheus source; pass --prometheus <url> instead"
            )
        }
    }

    // MARK: Errors

    /// Wrong or conflicting options: exit 2.
    typealias UsageProblem = BacktestArguments.Problem

    /// Unusable input (unreadable file, bad policy, failed query): exit 1.
    struct InputProblem: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    static func standardError(_ line: String) {
        let safe = line.split(separator: "\n", omittingEmptySubsequences: false).map { SafeText.forLog(String($0)) }
        FileHandle.standardError.write(Data((safe.joined(separator: "\n") + "\n").utf8))
    }
}
