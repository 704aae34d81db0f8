import Act
import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import NIOCore
import ServiceLifecycle
import Simulation
import Synchronization
import TestSupport
import Testing

@testable import Agent

#if canImport(Glibc)
import Glibc
#endif

/// The whole chain on loopback, in real time: simulated EMQX 5 nodes scraped by a real Prometheus, the agent
/// (assembled as `run` assembles it) querying that Prometheus, creating one Rebalance on the simulated Kubernetes API,
/// the simulated operator completing it, the imbalance alert in a real Alertmanager, and `promtool check metrics` on
/// the agent's own `/metrics`.
///
/// Prometheus and Alertmanager come from Debian's packages (`prometheus`, `prometheus-alertmanager`); scripts/test
/// installs them and exports `PROMETHEUS_BIN`, `ALERTMANAGER_BIN` and `PROMTOOL`.
@Suite(.serialized) struct EndToEndTests {
    static let clusterName = "emqx-e2e"
    static let namespace = "default"

    static let policyText = """
        apiVersion: autorebalancer.emqx.io/v1alpha1
        kind: Policy
        metadata:
          name: e2e
          version: "1"
        spec:
          evaluationInterval: 1s
          staleness: 10s
          rules:
            - name: rebalance-skew
              description: Connections imbalanced for 3 seconds.
              trigger: skew
              imbalance:
                connections: {abs: 500, rel: 1.2}
              for: 3s
              cooldown: 10m
              minConnections: 100
              rebalanceStrategy:
                connEvictRate: 400
                sessEvictRate: 400
                waitTakeover: 1
                waitHealthCheck: 1
                absConnThreshold: 300
                absSessThreshold: 300
                relConnThreshold: "1.1"
                relSessThreshold: "1.1"
            - name: imbalance-alert
              description: The same imbalance, told to Alertmanager.
              trigger: skew
              action: alert
              imbalance:
                connections: {abs: 500, rel: 1.2}
              for: 3s
              minConnections: 100
              labels: {severity: warning, team: e2e}
              annotations: {summary: EMQX connections are imbalanced.}
        """

    @Test(
        .enabled(if: Executables.prometheus != nil && Executables.alertmanager != nil, ExternalTools.missingMessage),
        .timeLimit(.minutes(5))
    )
    func realPrometheusAndAlertmanager() async throws {
        let prometheusBinary = try #require(Executables.prometheus)
        let alertmanagerBinary = try #require(Executables.alertmanager)
        let loaded = PolicyLoader.load(text: Self.policyText, file: "e2e.yaml")
        let policy = try #require(loaded.policy, "\(loaded.diagnostics)")
        let work = try TemporaryDirectory()
        let quiet = Logger(label: "e2e-simulation", factory: { _ in SwiftLogNoOpLogHandler() })
        var logger = Logger(label: "e2e-agent")
        logger.logLevel = .warning
        let clock = ContinuousClock()
        let http = HTTPClient(eventLoopGroupProvider: .singleton)

        // The simulated world: four EMQX 5 nodes, one just added with no clients; the Kubernetes API; the operator.
        let emqx = SimulatedEMQXCluster(
            configuration: SimulatedEMQXConfiguration(
                name: Self.clusterName,
                namespace: Self.namespace,
                kind: .emqx,
                nodes: [3000, 3000, 3000].map { SimulatedNodeSpec(liveConnections: $0) } + [
                    SimulatedNodeSpec(liveConnections: 0, uptime: .zero)
                ],
                seed: 8
            ),
            logger: quiet
        )
        let api = SimulatedKubernetesAPI(configuration: .init(now: { Date() }), logger: quiet)
        let credentials = emqx.configuration.credentials
        api.addEMQX(
            EMQXBinding(
                kind: .emqx,
                namespace: Self.namespace,
                name: Self.clusterName,
                endpoints: [],
                username: credentials.key,
                password: credentials.secret
            )
        )
        api.setEMQXEndpointProvider(namespace: Self.namespace, name: Self.clusterName) { emqx.endpoints }
        let simulatedOperator = SimulatedEMQXOperator(
            api: api,
            clock: clock,
            configuration: .init(
                tickInterval: .milliseconds(250),
                rebalancePollInterval: .seconds(1),
                emqxRefreshInterval: .seconds(1)
            ),
            logger: quiet
        )
        let world = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: emqx), .init(service: EMQXClusterDriver(cluster: emqx, clock: clock)),
                    .init(service: api),
                    .init(service: simulatedOperator),
                ],
                logger: quiet
            )
        )

        var processes: [ManagedProcess] = []
        defer { for process in processes { process.kill() } }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await world.run() }
            var kubernetes: HTTPKubernetesClient?
            do {
                let baseURL = try await api.baseURL()
                try await emqx.waitUntilServing(timeout: .seconds(60))
                let endpoints = emqx.endpoints
                #expect(endpoints.count == 4)

                // The real Prometheus, scraping every node's /api/v5/prometheus/stats each second, each target
                // labelled with its EMQX node name, namespace and cluster.
                let prometheusPort = try FreePort.find()
                let prometheusConfig = work.url.appendingPathComponent("prometheus.yml")
                try Self.prometheusConfiguration(endpoints: endpoints).write(
                    to: prometheusConfig,
                    atomically: true,
                    encoding: .utf8
                )
                processes.append(
                    try ManagedProcess.start(
                        prometheusBinary,
                        [
                            "--config.file=\(prometheusConfig.path)",
                            "--storage.tsdb.path=\(work.url.appendingPathComponent("prometheus-data").path)",
                            "--web.listen-address=127.0.0.1:\(prometheusPort)",
                            "--log.level=warn",
                        ],
                        log: work.url.appendingPathComponent("prometheus.log")
                    )
                )
                let prometheusURL = "http://127.0.0.1:\(prometheusPort)"

                // The real Alertmanager, alone (no cluster gossip), keeping its state in the temp dir.
                let alertmanagerPort = try FreePort.find()
                let alertmanagerConfig = work.url.appendingPathComponent("alertmanager.yml")
                try """
                route: {receiver: sink, group_wait: 1s, group_interval: 1s}
                receivers: [{name: sink}]
                """.write(to: alertmanagerConfig, atomically: true, encoding: .utf8)
                processes.append(
                    try ManagedProcess.start(
                        alertmanagerBinary,
                        [
                            "--config.file=\(alertmanagerConfig.path)",
                            "--storage.path=\(work.url.appendingPathComponent("alertmanager-data").path)",
                            "--web.listen-address=127.0.0.1:\(alertmanagerPort)",
                            "--cluster.listen-address=",
                            "--log.level=warn",
                        ],
                        log: work.url.appendingPathComponent("alertmanager.log")
                    )
                )
                let alertmanagerURL = "http://127.0.0.1:\(alertmanagerPort)"

                try await Self.waitUntil(
                    "Prometheus ready at \(prometheusURL) (log: \(processes[0].logTail()))",
                    timeout: .seconds(60)
                ) {
                    (try? await Self.get(http, prometheusURL + "/-/ready"))?.status == 200
                }
                try await Self.waitUntil(
                    "Alertmanager ready at \(alertmanagerURL) (log: \(processes[1].logTail()))",
                    timeout: .seconds(60)
                ) {
                    (try? await Self.get(http, alertmanagerURL + "/-/ready"))?.status == 200
                }
                // Every node scraped at least once, under its node label.
                try await Self.waitUntil("Prometheus to scrape all four nodes", timeout: .seconds(60)) {
                    let body = try? await Self.get(
                        http,
                        prometheusURL + "/api/v1/query?query="
                            + Self.formEncode(
                                #"count(emqx_live_connections_count{cluster="emqx-e2e",node=~"emqx@.+"})"#
                            )
                    ).body
                    return body.map { $0.contains(#""value":["#) && $0.contains(#","4"]"#) } ?? false
                }

                // The agent, as `run` builds it: the Prometheus source, the Alertmanager notifier, the admin server.
                let reference = ClusterReference(namespace: Self.namespace, name: Self.clusterName, kind: .emqx)
                let configuration = AgentConfiguration(
                    listen: ListenAddress(host: "127.0.0.1", port: 0),
                    leaderElection: LeaderElectionSettings(enabled: false),
                    clusters: [
                        ClusterSettings(
                            target: .named(reference),
                            sources: [
                                .prometheus(
                                    PrometheusSettings(
                                        url: prometheusURL,
                                        selector: #"namespace="default", cluster="emqx-e2e""#,
                                        nodeLabel: "node",
                                        http: HTTPClientSettings(timeout: 5)
                                    )
                                )
                            ]
                        )
                    ],
                    notifiers: NotifierSettings(alertmanagerURLs: [alertmanagerURL], resendInterval: 5),
                    rebalances: RebalanceSettings(keepFinished: 5, settleTime: 2, stuckAfter: 120)
                )
                let client = try HTTPKubernetesClient(
                    configuration: KubernetesClientConfiguration(
                        server: baseURL.absoluteString,
                        namespace: Self.namespace,
                        tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken),
                        origin: "simulated API \(baseURL)"
                    ),
                    logger: logger
                )
                kubernetes = client
                let assembly = AgentAssembly(
                    configuration: configuration,
                    policies: [policy],
                    kubernetes: client,
                    kubernetesNamespace: Self.namespace,
                    httpClient: http,
                    options: .init(hostname: "e2e", environment: [:]),
                    clock: clock,
                    now: { Date() },
                    logger: logger
                )
                let adminPort = PortBox()
                let agent = ServiceGroup(
                    configuration: .init(
                        services: assembly.services(
                            listen: configuration.listen,
                            configPath: nil,
                            reloadClock: clock,
                            onListening: { adminPort.set($0) }
                        ),
                        logger: logger
                    )
                )
                // The agent stops (and is waited for) before the world it talks to, and Prometheus stops scraping the
                // nodes before they shut down: a connection arriving at a NIO server while it shuts down can trap
                // (apple/swift-nio #3481), so nothing is cancelled and nothing connects to a stopping server.
                try await withThrowingTaskGroup(of: Void.self) { agentTasks in
                    agentTasks.addTask { try await agent.run() }
                    do {
                        try await Self.scenario(
                            http: http,
                            api: api,
                            emqx: emqx,
                            reference: reference,
                            alertmanagerURL: alertmanagerURL,
                            adminPort: adminPort
                        )
                    } catch {
                        await agent.triggerGracefulShutdown()
                        try? await agentTasks.waitForAll()
                        throw error
                    }
                    await agent.triggerGracefulShutdown()
                    try await agentTasks.waitForAll()
                }
                for process in processes { await process.stop() }
            } catch {
                for process in processes { await process.stop() }
                try? await kubernetes?.shutdown()
                await world.triggerGracefulShutdown()
                try? await group.waitForAll()
                try? await http.shutdown()
                throw error
            }
            try? await kubernetes?.shutdown()
            await world.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        try await http.shutdown()
        for process in processes { await process.stop() }
        for process in processes { #expect(!process.isRunning, "\(process.name) (pid \(process.pid)) still runs") }
    }

    /// What the test watches while the agent runs.
    static func scenario(
        http: HTTPClient,
        api: SimulatedKubernetesAPI,
        emqx: SimulatedEMQXCluster,
        reference: ClusterReference,
        alertmanagerURL: String,
        adminPort: PortBox
    ) async throws {
        let ours = { api.rebalances(namespace: namespace).filter { RebalanceMetadata.isOurs($0, cluster: reference) } }
        var alertSeen: [String: Any]?
        var outcome: String?
        let progress = {
            let phases = ours().map { "\($0.metadata.name ?? "?"): \($0.status?.phase ?? "no phase")" }
            return
                "Rebalances [\(phases.joined(separator: ", "))], outcome \(outcome ?? "not judged"), alert \(alertSeen == nil ? "not seen" : "seen"), "
                + "nodes \(emqx.nodes.map(\.liveConnections))"
        }
        try await waitUntil(
            "the Rebalance to complete and be judged and the alert to reach Alertmanager; \(progress())",
            timeout: .seconds(180)
        ) {
            if alertSeen == nil, let alerts = try? await Self.get(http, alertmanagerURL + "/api/v2/alerts").body,
                let list = (try? JSONSerialization.jsonObject(with: Data(alerts.utf8))) as? [[String: Any]]
            {
                alertSeen = list.first { alert in
                    let labels = alert["labels"] as? [String: String] ?? [:]
                    return labels["alertname"] == "EMQXClusterImbalanced" && labels["rule"] == "imbalance-alert"
                }
            }
            outcome = ours().first?.metadata.annotations?[RebalanceMetadata.outcomeKey]
            return alertSeen != nil && outcome != nil
        }

        // Exactly one Rebalance, for this cluster, with the rule's strategy; the operator completed it.
        let rebalances = ours()
        #expect(rebalances.count == 1, "\(rebalances.map { $0.metadata.name ?? "?" })")
        let rebalance = try #require(rebalances.first)
        #expect(rebalance.spec.instanceKind == "EMQX")
        #expect(rebalance.spec.instanceName == clusterName)
        let strategy = rebalance.spec.rebalanceStrategy
        #expect(strategy.connEvictRate == 400)
        #expect(strategy.sessEvictRate == 400)
        #expect(strategy.waitTakeover == 1)
        #expect(strategy.waitHealthCheck == 1)
        #expect(strategy.absConnThreshold == 300)
        #expect(strategy.relConnThreshold == "1.1")
        #expect(rebalance.metadata.labels?[RebalanceMetadata.ruleKey] == "rebalance-skew")
        #expect(
            rebalance.status?.phaseValue == .completed,
            "phase \(rebalance.status?.phase ?? "none"): \(rebalance.status?.failureMessage ?? "")"
        )
        #expect(outcome == RebalanceOutcome.balanced.rawValue, "outcome \(outcome ?? "none")")

        // The counts end balanced at the strategy's thresholds, and every client is still connected somewhere.
        let nodes = emqx.nodes.filter(\.isRunning)
        #expect(nodes.map(\.liveConnections).reduce(0, +) == 9000)
        let evaluation = BalanceMath.evaluateConnections(
            nodes.map { BalanceMath.NodeCounts(name: $0.name, liveConnections: Double($0.liveConnections)) },
            threshold: BalanceThreshold(absolute: 300, relative: 1.1)
        )
        #expect(evaluation.verdict.isBalanced, "\(evaluation.formula)")
        #expect(nodes.allSatisfy { $0.liveConnections > 1500 }, "\(nodes.map(\.liveConnections))")

        // The imbalance alert as Alertmanager holds it: the rule's labels plus cluster and namespace.
        let alert = try #require(alertSeen)
        let labels = alert["labels"] as? [String: String] ?? [:]
        #expect(labels["cluster"] == clusterName)
        #expect(labels["namespace"] == namespace)
        #expect(labels["team"] == "e2e")
        #expect(labels["severity"] == "warning")
        #expect((alert["annotations"] as? [String: String])?["summary"] == "EMQX connections are imbalanced.")

        // The agent's own metrics: read through Prometheus's source, and valid for promtool.
        let port = try #require(adminPort.value, "the admin server never reported its port")
        let metrics = try await get(http, "http://127.0.0.1:\(port)/metrics")
        #expect(metrics.status == 200)
        #expect(
            sample(metrics.body, #"emqx_autorebalancer_source_up{cluster="default/emqx-e2e",source="prometheus"}"#) == 1
        )
        #expect(
            sample(
                metrics.body,
                #"emqx_autorebalancer_rebalances_created_total{cluster="default/emqx-e2e",rule="rebalance-skew"}"#
            ) == 1
        )
        #expect(
            (sample(metrics.body, #"emqx_autorebalancer_alerts_sent_total{receiver="alertmanager-0",result="success"}"#)
                ?? 0) >= 1
        )
        if let promtool = Executables.promtool {
            let check = try await ChildProcess.run(
                promtool,
                ["check", "metrics"],
                input: metrics.body,
                timeout: .seconds(60)
            )
            #expect(check.status == 0, "promtool check metrics exited \(check.status):\n\(check.output)")
        } else {
            print(
                "EndToEndTests: promtool not found (set PROMTOOL or install Debian's prometheus); skipping `promtool check metrics`"
            )
        }
    }

    static func prometheusConfiguration(endpoints: [String: URL]) -> String {
        var text = """
            global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}
            scrape_configs:
              - job_name: emqx
                metrics_path: /api/v5/prometheus/stats
                static_configs:

            """
        for (node, url) in endpoints.sorted(by: { $0.key < $1.key }) {
            let host = "\(url.host ?? "127.0.0.1"):\(url.port ?? 80)"
            text += """
                      - targets: ["\(host)"]
                        labels: {node: "\(node)", namespace: "\(namespace)", cluster: "\(clusterName)"}

                """
        }
        return text
    }

    // MARK: Helpers

    /// The value of one series (name and labels exactly as exposed) in a text exposition; `nil` when absent.
    static func sample(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap {
            Double($0.dropFirst(series.count + 1))
        }
    }

    static func get(_ http: HTTPClient, _ url: String) async throws -> (status: Int, body: String) {
        let response = try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Polls `condition` every 250 ms until it holds, or fails naming what it waited for.
    static func waitUntil(
        _ what: @autoclosure () -> String,
        timeout: Duration,
        _ condition: () async -> Bool
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if await condition() { return }
            guard clock.now < deadline else { throw EndToEndError("timed out after \(timeout) waiting for \(what())") }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}

struct EndToEndError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The admin server's bound port, told once it listens.
final class PortBox: Sendable {
    private let port = Mutex<Int?>(nil)
    func set(_ value: Int) { port.withLock { $0 = value } }
    var value: Int? { port.withLock { $0 } }
}

/// What to install when Debian's `prometheus` and `prometheus-alertmanager` are missing (found by `Executables`).
enum ExternalTools {
    static let missingMessage: Comment = """
        Prometheus or Alertmanager not found: install Debian's `prometheus` and `prometheus-alertmanager` \
        (scripts/test does) or set PROMETHEUS_BIN and ALERTMANAGER_BIN
        """
}

/// A child process the test started; `stop()` ends it by its PID (SIGTERM, then SIGKILL after 5 s).
final class ManagedProcess: @unchecked Sendable {
    let name: String
    let process: Process
    let log: URL

    private init(name: String, process: Process, log: URL) {
        self.name = name
        self.process = process
        self.log = log
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    static func start(_ binary: String, _ arguments: [String], log: URL) throws -> ManagedProcess {
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return ManagedProcess(name: URL(fileURLWithPath: binary).lastPathComponent, process: process, log: log)
    }

    /// The last lines the process logged (for failure messages).
    func logTail(lines: Int = 15) -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// SIGTERM by PID, then waits for the exit without blocking a thread (SIGKILL after 10 s).
    func stop() async {
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGTERM)
        await ChildProcess.waitForExit(process)
    }

    /// The last resort when a test ends by an error: SIGKILL by PID, without waiting.
    func kill() {
        if process.isRunning { Glibc.kill(pid, SIGKILL) }
    }

    deinit { kill() }
}

/// A loopback port free at the time of asking (bound to port 0, read back, released).
enum FreePort {
    static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EndToEndError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw EndToEndError("bind(127.0.0.1:0) failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw EndToEndError("getsockname failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A fresh directory under the system's temporary directory, removed when released.
final class TemporaryDirectory: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "emqx-autorebalancer-e2e-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
