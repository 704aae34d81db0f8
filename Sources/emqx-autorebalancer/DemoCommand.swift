import Agent
import ArgumentParser
import AutorebalancerCore
import Demo
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `demo`: the seed scenario (or another) end to end on loopback, with the real agent.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Run the real agent against a simulated EMQX cluster and Kubernetes API (with the EMQX Operator) on loopback.",
        discussion: """
            The default reproduces the seed case: an EMQX Enterprise 4.4 cluster default/emqx-ee whose nodes hold 3333, \
            3333 and 3334 connections when a fourth node joins empty. With --operator 2.3 or 3.0 (which serve no \
            EmqxEnterprise) the same four nodes and counts are an EMQX 5 `EMQX` object; 3.0 has no Rebalance resource, so \
            the agent rebalances through EMQX's own load_rebalance API and keeps an EMQXRebalance record. Scenario hpa: an HPA scales the replicants 3 → 5 through the scale \
            subresource, the agent waits for both new nodes and rebalances, then a scale-in evacuates one while it stands \
            back. Simulated time runs --speed times faster than wall time. Exit code 0 when the scenario ended as expected \
            (a rebalance created, completed and judged, or refused with its reason where the agent cannot act; none for \
            flapping), 1 otherwise; 2 for a usage error, found before the demo starts.

            Examples:
              emqx-autorebalancer demo
              emqx-autorebalancer demo --scenario restart --speed 30
              emqx-autorebalancer demo --operator 3.0
              emqx-autorebalancer demo --scenario hpa --operator 2.3
              emqx-autorebalancer demo --plot demo.html
              emqx-autorebalancer demo --policy rules/default.yaml --format json
              emqx-autorebalancer demo --serve-dir /tmp/emqx-demo
            With --serve (or --serve-dir DIR) the simulated cluster keeps running after the scenario, and DIR (default: \
            a new temporary folder, printed) receives a kubeconfig for the simulated Kubernetes API and an agent \
            configuration for the cluster, so that `run --once --config DIR/agent.yaml --kubeconfig DIR/kubeconfig` and \
            `kubectl --kubeconfig DIR/kubeconfig get emqxenterprises,rebalances -A` (with --operator 2.3: emqx,rebalances; \
            3.0: emqx,emqxrebalances) work against it; SIGINT (Ctrl-C) or SIGTERM stops it.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Option(
        help: ArgumentHelp(
            "Scenario: \(DemoScenario.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "name"
        )
    )
    var scenario: DemoScenario = .scaleOut

    @Option(
        help: ArgumentHelp(
            "The EMQX Operator generation the simulated Kubernetes API plays: 2.2 (EmqxEnterprise 4.4), 2.3 or 3.0 (EMQX 5 `EMQX` objects).",
            valueName: "version"
        )
    )
    var `operator`: DemoOperator = .v2_2

    @Option(help: ArgumentHelp("Simulated seconds per wall second (more than 0, at most 1000).", valueName: "factor"))
    var speed: Double = 10

    @Option(help: ArgumentHelp("Seed of the simulation's random choices.", valueName: "number"))
    var seed: UInt64 = 1

    @Option(
        help: ArgumentHelp(
            "A policy file to run instead of the built-in demo policy (e.g. rules/default.yaml).",
            valueName: "file"
        )
    )
    var policy: String?

    @Option(
        help: ArgumentHelp(
            "Output: text (live bars and a before/after table) or json (one JSON object per line, the summary last).",
            valueName: "format"
        )
    )
    var format: Format = .text

    @Option(
        help: ArgumentHelp(
            "Write a chart of per-node connections with the decisions marked: file.svg, or file.html for a page with tooltips and a table of decisions.",
            valueName: "file"
        )
    )
    var plot: String?

    @Option(
        help: ArgumentHelp(
            "Stop after this many simulated seconds at the latest (default: the scenario's).",
            valueName: "seconds"
        )
    )
    var maxSeconds: Int?

    @Flag(help: "Show the agent's own log lines (on standard error).")
    var verbose = false

    @Flag(
        help:
            "Keep the simulated cluster and Kubernetes API running after the scenario, until SIGINT or SIGTERM, and write a kubeconfig and an agent configuration for them."
    )
    var serve = false

    @Option(
        help: ArgumentHelp(
            "The folder --serve writes its files to (created if missing; implies --serve; default: a new temporary folder).",
            valueName: "dir"
        )
    )
    var serveDir: String?

    func validate() throws {
        guard speed > 0, speed <= 1000 else {
            throw ValidationError(
                "--speed \(BalanceEvaluation.format(speed)): give simulated seconds per wall second, more than 0 and at most 1000 (default 10)"
            )
        }
        if let maxSeconds, maxSeconds <= 0 {
            throw ValidationError(
                "--max-seconds \(maxSeconds): give the simulated seconds after which the demo stops, more than 0"
            )
        }
        if let plot { try ChartFile.validate(plot) }
        if let serveDir {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: serveDir, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw ValidationError(
                    "--serve-dir \(serveDir): a file of that name exists; name a folder (created if missing)"
                )
            }
        }
        if let policy, case .failure(let problem) = TextFile.read(policy) {
            throw ValidationError("--policy \(policy): cannot read the file: it \(problem)")
        }
    }

    func run() async throws {
        var options = DemoRunner.Options(
            scenario: scenario,
            speed: speed,
            seed: seed,
            operatorGeneration: `operator`.generation
        )
        if let policy {
            let text: String
            switch TextFile.read(policy) {
            case .success(let read): text = read
            case .failure(let problem): throw ValidationError("--policy \(policy): cannot read the file: it \(problem)")
            }
            options.policyText = text
            options.policyFile = policy
        }
        if let maxSeconds { options.maxDuration = .seconds(maxSeconds) }
        let level: Logger.Level = verbose ? .info : .critical
        let logger = Logger(label: "emqx-autorebalancer") { label in
            AgentLogHandler(label: label, format: .text, level: level)
        }
        let display = DemoDisplay(json: format == .json)
        if format == .text {
            let plan = scenario.plan(seed: seed, operator: options.operatorGeneration)
            let object =
                plan.cluster.kind == .emqx
                ? "an EMQX \(plan.cluster.version) `EMQX` object"
                : "an EMQX Enterprise \(plan.cluster.version) `EmqxEnterprise` object"
            print(
                """
                emqx-autorebalancer demo: scenario \(scenario.rawValue), simulated time \(BalanceEvaluation.format(speed))× wall time
                A simulated EMQX cluster default/emqx-ee (\(object)) and a simulated Kubernetes API with \(options.operatorGeneration)
                run on loopback; the real agent (policy \(options.policyFile)) watches them over HTTP.

                """
            )
        }
        let serveDirectory = try serveDir ?? (serve ? Self.temporaryServeDirectory() : nil)
        let plot = self.plot
        let json = format == .json
        let result: DemoRunner.Result
        do {
            let serving = serveDirectory.map {
                Self.serving(in: $0, display: display, plot: plot, json: json, logger: logger)
            }
            result = try await DemoRunner(options: options, logger: logger).run(
                progress: { display.show($0) },
                serve: serving
            )
        } catch let error as ValidationError {
            throw error
        } catch {
            // The library's own text only with --verbose: the line says what failed in words.
            let details = verbose ? " (details: \(SafeText.forLog("\(error)")))" : ""
            FileHandle.standardError.write(Data("demo failed: \(StopReason.describe(error))\(details)\n".utf8))
            throw ExitCode(1)
        }
        if serveDirectory == nil {
            display.finish(result)
            if let plot { try Self.writePlot(result, to: plot, announce: !json) }
        }
        if !result.expectationMet {
            let message =
                switch scenario {
                case .flapping:
                    "unexpected: a Rebalance was created although the imbalance never lasted the rule's for\n"
                case .hpa:
                    "unexpected: the HPA scale-out was not rebalanced (or refused) and judged, or the agent did not stand back during the scale-in\n"
                default:
                    "unexpected: no rebalance was created, completed and judged (or refused where the agent cannot act) within the demo's time\n"
                }
            FileHandle.standardError.write(Data(message.utf8))
            throw ExitCode(1)
        }
    }

    /// What `--serve` does once the scenario has ended: the summary (and plot), the files, the ready line, then
    /// waiting for SIGINT or SIGTERM while the world keeps serving.
    static func serving(
        in directory: String,
        display: DemoDisplay,
        plot: String?,
        json: Bool,
        logger: Logger
    ) -> @Sendable (DemoRunner.Result, DemoServedWorld) async throws -> Void {
        { result, world in
            display.finish(result)
            if let plot { try writePlot(result, to: plot, announce: !json) }
            let files = try world.writeFiles(to: directory)
            display.serving(world, files: files)
            let untilSignalled = ServiceGroup(
                services: [UntilSignalled()],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
            try await untilSignalled.run()
        }
    }

    static func temporaryServeDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "emqx-autorebalancer-demo-\(UUID().uuidString.prefix(8))"
        )
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ValidationError(
                "cannot create a temporary folder for --serve (\(error.localizedDescription)); name one with --serve-dir"
            )
        }
        return directory.path
    }

    static func writePlot(_ result: DemoRunner.Result, to path: String, announce: Bool) throws {
        let plot = result.plot
        let document = try ChartFile.kind(of: path) == .html ? plot.html() : plot.svg()
        do {
            try document.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("cannot write the plot to \(path): \(error.localizedDescription)")
        }
        if announce { print("plot written to \(path)") }
    }
}

/// Ends when the process is told to stop (SIGINT, SIGTERM): what `demo --serve` waits for.
struct UntilSignalled: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}

extension DemoScenario: ExpressibleByArgument {}

/// `--operator 2.2|2.3|3.0`.
enum DemoOperator: String, ExpressibleByArgument, CaseIterable {
    case v2_2 = "2.2"
    case v2_3 = "2.3"
    case v3_0 = "3.0"

    var generation: OperatorGeneration {
        switch self {
        case .v2_2: .v2_2
        case .v2_3: .v2_3
        case .v3_0: .v3_0
        }
    }
}

/// Renders the demo's progress: bars whenever the phase changes (and every 15 simulated seconds), narration, and the
/// final table; or JSON lines.
final class DemoDisplay: Sendable {
    let json: Bool
    let state = Mutex<(phase: String, lastBars: Double, scale: Double)>(("", -100, 0))

    init(json: Bool) { self.json = json }

    func show(_ progress: DemoRunner.Progress) {
        switch progress {
        case .note(let seconds, let text):
            emit(json: ["seconds": seconds, "note": text], text: "[\(stamp(seconds))] \(text)")
        case .decision(let seconds, let record):
            if json {
                print(#"{"seconds":\#(BalanceEvaluation.format(seconds)),"decision":\#(record.jsonLine())}"#)
            } else {
                let why = record.reason.map { " (\($0.rawValue): \(record.detail ?? ""))" } ?? ""
                print(
                    "[\(stamp(seconds))] decision: rule \(record.rule) (\(record.trigger.rawValue)) -> \(record.action.rawValue)\(why): \(record.formula)"
                )
            }
        case .sample(let seconds, let phase, let nodes):
            let (changed, due, scale) = state.withLock { state -> (Bool, Bool, Double) in
                let changed = state.phase != phase
                let due = seconds - state.lastBars >= 15
                state.scale = max(state.scale, Double(nodes.map(\.connections).max() ?? 0))
                if changed || due {
                    state.phase = phase
                    state.lastBars = seconds
                }
                return (changed, due, state.scale)
            }
            guard changed || due else { return }
            if json {
                let counts = Dictionary(
                    nodes.map { ($0.name, ["connections": $0.connections, "sessions": $0.sessions]) },
                    uniquingKeysWith: { a, _ in a }
                )
                emit(json: ["seconds": seconds, "phase": phase, "nodes": counts], text: "")
            } else {
                print("[\(stamp(seconds))] phase: \(phase)")
                for line in NodeCountsTable.bars(
                    nodes.map { ($0.name, Double($0.connections), Double($0.sessions)) },
                    scale: scale
                ) {
                    print("        \(line)")
                }
            }
        }
    }

    func finish(_ result: DemoRunner.Result) {
        if json {
            print(result.summary.jsonLine())
            return
        }
        let summary = result.summary
        func counts(_ map: [String: DemoSummary.Counts]) -> [String: (connections: Double?, sessions: Double?)] {
            map.mapValues { (Double($0.connections), Double($0.sessions)) }
        }
        print("")
        for line in NodeCountsTable.beforeAfter(
            nodes: result.nodeOrder,
            before: counts(summary.before),
            after: counts(summary.after)
        ) {
            print(line)
        }
        print("")
        for rebalance in summary.rebalances {
            let strategy = rebalance.spec.rebalanceStrategy
            let target =
                rebalance.kind == "Rebalance"
                ? "instanceKind \(rebalance.spec.instanceKind)"
                : "cluster \(rebalance.spec.instanceName), through EMQX's load_rebalance API"
            print(
                "\(rebalance.kind) \(rebalance.name): \(rebalance.phase ?? "not started") (\(target), connEvictRate \(strategy.connEvictRate), relConnThreshold \(strategy.relConnThreshold ?? "1.1"))"
            )
        }
        if summary.rebalances.isEmpty { print("No Rebalance was created.") }
        if let refused = summary.decisions.first(where: { $0.reason == .cannotAct }) {
            print("The agent cannot rebalance this cluster: \(refused.detail ?? "")")
        }
        let times = summary.times
        print(
            "times (simulated): onset \(stamp(times.onsetSeconds)), \(summary.rebalances.first?.kind ?? "Rebalance") created \(stamp(times.createdSeconds)), completed \(stamp(times.completedSeconds))"
        )
        if let outcome = summary.outcome { print("outcome judged by the agent from metrics: \(outcome)") }
    }

    /// `demo --serve`: where the files are and how to use them; the last line (`serving: …`) says the world is ready.
    func serving(_ world: DemoServedWorld, files: [String]) {
        let kubeconfig = files[0]
        let config = files[1]
        if json {
            emit(
                json: [
                    "serving": [
                        "kubernetes": world.kubernetesURL.absoluteString, "kubeconfig": kubeconfig, "config": config,
                        "files": files,
                    ]
                ],
                text: ""
            )
        } else {
            print(
                """

                The simulated cluster \(world.namespace)/\(world.name) and its Kubernetes API keep running. Files written:
                \(files.map { "  \($0)" }.joined(separator: "\n"))
                Try:
                  emqx-autorebalancer run --once --config \(config) --kubeconfig \(kubeconfig)
                  kubectl --kubeconfig \(kubeconfig) get \(world.kubectlResources) -A
                Ctrl-C (SIGINT) or SIGTERM stops it.
                serving: Kubernetes API \(world.kubernetesURL.absoluteString), kubeconfig \(kubeconfig)
                """
            )
        }
        // Whoever waits for the line reads a pipe: hand it over now, not when the buffer fills.
        fflush(nil)
    }

    func stamp(_ seconds: Double?) -> String {
        guard let seconds else { return "-" }
        return String(repeating: " ", count: max(0, 4 - String(Int(seconds)).count)) + "\(Int(seconds))s"
    }

    func emit(json object: [String: Any], text: String) {
        if json {
            if let data = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.sortedKeys, .withoutEscapingSlashes]
            ) {
                print(String(decoding: data, as: UTF8.self))
            }
        } else {
            print(text)
        }
    }
}
