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
        abstract: "Replay Prometheus history (query_range answers) through a policy: the decisions the agent would have made.",
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

    @Option(help: ArgumentHelp("A saved /api/v1/query_range answer (JSON) of live connections, one series per node.", valueName: "file"))
    var connections: String?

    @Option(help: ArgumentHelp("A saved /api/v1/query_range answer (JSON) of sessions, same nodes (optional: without it, session thresholds are skipped).", valueName: "file"))
    var sessions: String?

    @Option(help: ArgumentHelp("The label naming the node (default: node, else pod, else instance).", valueName: "label"))
    var nodeLabel: String?

    @Option(help: ArgumentHelp("The cluster as namespace/name (default: the --config's only cluster, else the series' namespace and cluster labels, else default/emqx).", valueName: "namespace/name"))
    var cluster: String?

    @Option(help: ArgumentHelp("Evaluation step, e.g. 30s (default: every timestamp of the input). With --prometheus, also the query resolution (required).", valueName: "duration"))
    var step: String?

    @Option(help: ArgumentHelp("How long a sample stays usable after its time, like Prometheus's lookback.", valueName: "duration"))
    var lookback: String = "5m"

    @Option(help: ArgumentHelp("Output format: text or json (one decision record per line, then one summary line).", valueName: "format"))
    var format: Format = .text

    @Flag(help: "Also show the steps where a rule was held back (action blocked, with the reason).")
    var explain = false

    @Option(help: ArgumentHelp("Write a chart of per-node connections with the decisions marked: file.svg, or file.html for a page with tooltips and a table of decisions.", valueName: "file"))
    var plot: String?

    @Option(help: ArgumentHelp("Fetch the history live from this Prometheus server instead of --connections/--sessions.", valueName: "url"))
    var prometheus: String?

    @Option(help: ArgumentHelp("With --prometheus: start time (RFC 3339, Unix seconds, or now-DURATION such as now-6h).", valueName: "time"))
    var start: String?

    @Option(help: ArgumentHelp("With --prometheus: end time (RFC 3339, Unix seconds, now, or now-DURATION; default now).", valueName: "time"))
    var end: String?

    @Option(help: ArgumentHelp("Fetch live using the Prometheus source (URL, selector, node label, queries, auth, TLS) of this agent configuration's cluster (kind: AgentConfig).", valueName: "file"))
    var config: String?

    /// Every problem of the options themselves, before any file is read or any query sent (exit 2). What needs a
    /// file's content (a --config without a prometheus source, a policy with errors) is found by `run`.
    func validate() throws {
        do {
            try validateOptions()
        } catch let problem as UsageProblem {
            throw ValidationError(problem.message)
        }
    }

    func validateOptions() throws {
        if policy == nil { throw UsageProblem("give --policy <file> (a kind: Policy file, e.g. rules/default.yaml)") }
        _ = try duration(lookback, option: "--lookback")
        if let step { _ = try duration(step, option: "--step") }
        if let cluster { _ = try Self.parseCluster(cluster) }
        if let plot { try ChartFile.validate(plot) }
        let live = prometheus != nil || config != nil
        if live {
            guard connections == nil, sessions == nil else {
                throw UsageProblem("use either --connections/--sessions (saved files) or --prometheus/--config (live), not both")
            }
            if let prometheus { try Self.checkPrometheusURL(prometheus) }
            guard let start else { throw UsageProblem("\(prometheus != nil ? "--prometheus" : "--config") needs --start <time> (RFC 3339, Unix seconds or now-6h)") }
            guard step != nil else { throw UsageProblem("\(prometheus != nil ? "--prometheus" : "--config") needs --step <duration> (e.g. 30s), the resolution of the query") }
            let now = Date()
            let startTime = try Self.parseTime(start, option: "--start", now: now)
            let endTime = try Self.parseTime(end ?? "now", option: "--end", now: now)
            guard startTime < endTime else { throw UsageProblem("--start \(start) must be before --end \(end ?? "now")") }
            if config == nil, cluster == nil {
                throw UsageProblem("--prometheus needs --cluster <namespace/name> to select the cluster's series (e.g. --cluster emqx/emqx-ee)")
            }
        } else {
            guard connections != nil else {
                throw UsageProblem("give --connections <file> (a saved /api/v1/query_range answer), or --prometheus <url> --cluster <namespace/name> --start <time> --step <duration>")
            }
            for (value, name) in [(start, "--start"), (end, "--end")] where value != nil {
                throw UsageProblem("\(name) only applies with --prometheus or --config; a saved file already covers its own time range")
            }
        }
    }

    /// The base URL of a Prometheus server: http or https, with a host.
    static func checkPrometheusURL(_ text: String) throws {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw UsageProblem("--prometheus \(text): expected the Prometheus server's base URL, http:// or https:// and a host, e.g. http://prometheus-operated.monitoring.svc:9090")
        }
    }

    func run() async throws {
        do {
            try await backtest()
        } catch let error as UsageProblem {
            Self.standardError("error: \(error.message)")
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

    /// Runs after `validate()`: the options are consistent; what remains to fail is input.
    func backtest() async throws {
        let policy = try loadPolicy()
        let lookbackSeconds = try duration(lookback, option: "--lookback")
        var stepSeconds = try step.map { try duration($0, option: "--step") }
        let input: Input
        if let connections {
            input = try loadFiles(connections: connections)
        } else {
            input = try await fetchLive()
            stepSeconds = stepSeconds ?? input.step
        }

        let clusterReference = try clusterReference(inferred: input.cluster)
        if let stepSeconds, let steps = BacktestRunner.stepCount(input.connections, step: stepSeconds), steps > Double(BacktestRunner.maximumSteps) {
            throw UsageProblem("--step \(step ?? ""): the input's time range is \(BalanceEvaluation.format(steps)) steps at that step; at most \(BacktestRunner.maximumSteps) are replayed (choose a longer step)")
        }
        let report = BacktestRunner.run(
            policy: policy, connections: input.connections, sessions: input.sessions,
            options: .init(cluster: clusterReference, lookback: lookbackSeconds, step: stepSeconds)
        ) { done, total in
            guard format == .text, done % 10_000 == 0 else { return }
            Self.standardError("backtest: \(done)/\(total) steps")
        }

        switch format {
        case .text:
            for line in BacktestOutput.textLines(report, explain: explain) { print(line) }
        case .json:
            for line in BacktestOutput.jsonLines(report, explain: explain) { print(line) }
        }

        if let plot {
            let title = "backtest of \(policy.identifier) on \(clusterReference)"
            let document = plot.lowercased().hasSuffix(".html") || plot.lowercased().hasSuffix(".htm")
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

    func loadPolicy() throws -> Policy {
        guard let policy else { throw UsageProblem("give --policy <file> (a kind: Policy file, e.g. rules/default.yaml)") }
        let text: String
        switch TextFile.read(policy) {
        case .success(let read): text = read
        case .failure(let problem): throw InputProblem("\(policy): cannot read the policy file: it \(problem)")
        }
        let result = PolicyLoader.load(text: text, file: policy)
        for diagnostic in result.diagnostics.sortedByLocation() where diagnostic.severity == .error {
            Self.standardError(diagnostic.description)
        }
        guard let loaded = result.policy, !result.diagnostics.hasErrors else {
            throw InputProblem("\(policy): the policy has errors (above); `emqx-autorebalancer check \(policy)` lists them all")
        }
        return loaded
    }

    func loadFiles(connections: String) throws -> Input {
        let connectionSeries = try BacktestMatrix.series(from: read(connections), file: connections, nodeLabel: nodeLabel)
        var sessionSeries: [BacktestSeries]?
        if let sessions {
            let series = try BacktestMatrix.series(from: read(sessions), file: sessions, nodeLabel: nodeLabel)
            try BacktestMatrix.checkSameNodes(
                connections: connectionSeries, connectionsFile: connections, sessions: series, sessionsFile: sessions)
            sessionSeries = series
        }
        return Input(connections: connectionSeries, sessions: sessionSeries, cluster: BacktestMatrix.clusterFromLabels(connectionSeries))
    }

    /// A saved answer: exports of a long range over many nodes run to tens of megabytes, never near this.
    static let maximumInputSize = 512 << 20

    func read(_ file: String) throws -> Data {
        switch TextFile.read(bytesOf: file, maximumSize: Self.maximumInputSize) {
        case .success(let data): return data
        case .failure(let problem): throw InputProblem("\(file): cannot read the file: it \(problem)")
        }
    }

    func clusterReference(inferred: ClusterReference?) throws -> ClusterReference {
        if let cluster { return try Self.parseCluster(cluster) }
        return inferred ?? ClusterReference(namespace: "default", name: "emqx")
    }

    static func parseCluster(_ text: String) throws -> ClusterReference {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw UsageProblem("--cluster \(text): expected <namespace/name>, e.g. default/emqx-ee")
        }
        return ClusterReference(namespace: String(parts[0]), name: String(parts[1]))
    }

    func duration(_ text: String, option: String) throws -> TimeInterval {
        guard let seconds = DurationText.parse(text), seconds > 0 else {
            throw UsageProblem("\(option) \(text): expected a positive duration such as 30s, 5m or 1h")
        }
        guard seconds >= BacktestRunner.minimumStep, seconds <= DurationText.maximum else {
            throw UsageProblem("\(option) \(text): must be between \(DurationText.format(BacktestRunner.minimumStep)) and \(DurationText.format(DurationText.maximum))")
        }
        return seconds
    }

    // MARK: Live

    func fetchLive() async throws -> Input {
        var settings: PrometheusSettings?
        var clusterFromConfig: ClusterReference?
        if let config {
            (settings, clusterFromConfig) = try prometheusSettings(fromConfig: config)
        }
        guard let url = prometheus ?? settings?.url else {
            throw UsageProblem("give --prometheus <url> (or a --config with a prometheus source)")
        }
        guard let startText = start, let stepText = step else { throw UsageProblem("live fetching needs --start <time> and --step <duration>") }
        let now = Date()
        let startTime = try Self.parseTime(startText, option: "--start", now: now)
        let endTime = try Self.parseTime(end ?? "now", option: "--end", now: now)
        guard startTime < endTime else { throw UsageProblem("--start must be before --end") }
        let stepSeconds = try duration(stepText, option: "--step")
        let steps = (endTime.timeIntervalSince(startTime) / stepSeconds).rounded(.down) + 1
        guard steps <= Double(BacktestRunner.maximumSteps) else {
            throw UsageProblem("--start/--end/--step: \(BalanceEvaluation.format(steps)) steps; at most \(BacktestRunner.maximumSteps) are replayed (choose a longer step or a shorter range)")
        }

        let clusterReference: ClusterReference
        if let cluster {
            clusterReference = try Self.parseCluster(cluster)
        } else if let clusterFromConfig {
            clusterReference = clusterFromConfig
        } else {
            throw UsageProblem("--prometheus needs --cluster <namespace/name> to select the cluster's series")
        }
        let label = nodeLabel ?? settings?.nodeLabel ?? "node"
        let selector = settings?.selector.map { PrometheusSelector(template: $0) } ?? PrometheusSelector()
        let selectorText = selector.selector(for: clusterReference)
        let defaults = PrometheusQueries.emqxDefault
        let connectionsQuery = PrometheusQueries.render(
            settings?.liveConnectionsQuery ?? defaults.liveConnections ?? "", selector: selectorText, label: label)
        let sessionsQuery = PrometheusQueries.render(
            settings?.sessionsQuery ?? defaults.sessions ?? "", selector: selectorText, label: label)

        let source: PrometheusSource
        do {
            source = try PrometheusSource(
                configuration: .init(
                    baseURL: url, nodeLabel: label, authorization: try authorization(settings?.http),
                    tls: try tls(settings?.http), timeout: .milliseconds(Int64((settings?.http.timeout ?? 30) * 1000))),
                httpClient: HTTPClient.shared)
        } catch let error as UsageProblem {
            throw error
        } catch let error as InputProblem {
            throw error
        } catch {
            throw InputProblem("\(url): cannot set up TLS (\(error))")
        }
        let explicitLabel = nodeLabel ?? settings?.nodeLabel
        let connectionsName = "\(url) query_range \(connectionsQuery)"
        let connectionSeries = try BacktestMatrix.series(
            from: try await Self.fetchRange(source, query: connectionsQuery, start: startTime, end: endTime, step: stepSeconds, name: connectionsName),
            file: connectionsName, nodeLabel: explicitLabel)
        let sessionsName = "\(url) query_range \(sessionsQuery)"
        let sessionMatrix = try await Self.fetchRange(source, query: sessionsQuery, start: startTime, end: endTime, step: stepSeconds, name: sessionsName)
        var sessionSeries: [BacktestSeries]?
        if sessionMatrix.isEmpty {
            Self.standardError("warning: the sessions query matched nothing (\(sessionsQuery)); session thresholds are skipped")
        } else {
            let series = try BacktestMatrix.series(from: sessionMatrix, file: sessionsName, nodeLabel: explicitLabel)
            try BacktestMatrix.checkSameNodes(
                connections: connectionSeries, connectionsFile: connectionsName, sessions: series, sessionsFile: sessionsName)
            sessionSeries = series
        }
        return Input(connections: connectionSeries, sessions: sessionSeries, cluster: clusterReference, step: stepSeconds)
    }

    /// Prometheus refuses more than 11,000 points per series, so long ranges are fetched in chunks and joined.
    static func fetchRange(
        _ source: PrometheusSource, query: String, start: Date, end: Date, step: TimeInterval, name: String
    ) async throws -> [PrometheusMatrixSeries] {
        let pointsPerChunk = 10_000.0
        var merged: [[String: String]: [PrometheusSample]] = [:]
        var order: [[String: String]] = []
        var chunkStart = start
        while chunkStart <= end {
            let chunkEnd = min(end, chunkStart.addingTimeInterval((pointsPerChunk - 1) * step))
            let matrix: [PrometheusMatrixSeries]
            do {
                matrix = try await source.queryRange(
                    query: query, start: chunkStart, end: chunkEnd, step: .milliseconds(Int64((step * 1000).rounded())))
            } catch {
                throw InputProblem("\(name): \(error)")
            }
            for series in matrix {
                if merged[series.labels] == nil { order.append(series.labels) }
                merged[series.labels, default: []] += series.samples
            }
            chunkStart = chunkEnd.addingTimeInterval(step)
        }
        return order.map { PrometheusMatrixSeries(labels: $0, samples: merged[$0] ?? []) }
    }

    /// The Prometheus source of one cluster of an agent configuration.
    func prometheusSettings(fromConfig file: String) throws -> (PrometheusSettings, ClusterReference?) {
        let text: String
        switch TextFile.read(file) {
        case .success(let read): text = read
        case .failure(let problem): throw InputProblem("\(file): cannot read the agent configuration: it \(problem)")
        }
        let result = AgentConfiguration.load(text: text, file: file)
        for diagnostic in result.diagnostics where diagnostic.severity == .error { Self.standardError(diagnostic.description) }
        guard let configuration = result.configuration else {
            throw InputProblem("\(file): the agent configuration has errors (above); `emqx-autorebalancer check \(file)` lists them all")
        }
        let wanted = try cluster.map(Self.parseCluster)
        var candidates: [(ClusterSettings, ClusterReference?)] = []
        for settings in configuration.clusters {
            switch settings.target {
            case .named(let reference):
                if wanted == nil || (wanted?.namespace == reference.namespace && wanted?.name == reference.name) {
                    candidates.append((settings, reference))
                }
            case .selector(let namespace, _, _):
                if let wanted, namespace == nil || namespace == wanted.namespace { candidates.append((settings, nil)) }
            }
        }
        guard let (settings, reference) = candidates.first else {
            throw UsageProblem("\(file): no cluster entry matches \(cluster ?? "(no --cluster)"); pass --cluster <namespace/name> of a configured cluster")
        }
        if wanted == nil, candidates.count > 1 {
            throw UsageProblem("\(file) configures several clusters; pass --cluster <namespace/name> to pick one")
        }
        for source in settings.sources {
            if case .prometheus(let prometheus) = source { return (prometheus, reference) }
        }
        throw InputProblem("\(file): the cluster \(reference?.description ?? cluster ?? "") has no prometheus source; pass --prometheus <url> instead")
    }

    func authorization(_ http: HTTPClientSettings?) throws -> HTTPAuthorization {
        do {
            return try http?.authorization(environment: ProcessInfo.processInfo.environment) ?? .none
        } catch {
            throw InputProblem("Prometheus credentials: \(error)")
        }
    }

    func tls(_ http: HTTPClientSettings?) throws -> SourceTLS? {
        do {
            return try http?.sourceTLS()
        } catch {
            throw InputProblem("\(error)")
        }
    }

    /// RFC 3339, Unix seconds, `now`, or `now-DURATION`.
    static func parseTime(_ text: String, option: String, now: Date) throws -> Date {
        let time: Date
        if text == "now" {
            time = now
        } else if text.hasPrefix("now-"), let seconds = DurationText.parse(String(text.dropFirst(4))) {
            time = now.addingTimeInterval(-seconds)
        } else if let seconds = Double(text) {
            time = Date(timeIntervalSince1970: seconds)
        } else if let date = KubernetesTime.parse(text) {
            time = date
        } else {
            throw UsageProblem("\(option) \(text): expected RFC 3339 (2026-11-20T10:00:00Z), Unix seconds, now or now-DURATION")
        }
        if let problem = SampleCheck.problem(withRecordedTime: time) { throw UsageProblem("\(option) \(text) \(problem)") }
        return time
    }

    // MARK: Errors

    /// Wrong or conflicting options: exit 2.
    struct UsageProblem: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

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
