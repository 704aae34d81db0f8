import Act
import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import Report
import Simulation
import Synchronization

@testable import Agent

/// A two-node EMQX 5 cluster `default/emqx` (Ready, Enterprise) in the simulated Kubernetes API, the real agent
/// (loop, actuator, logs) watching it, and metric sources the test chooses — hostile ones, typically.
///
/// The policy acts on the first imbalanced cycle (`for: 0s`), so any bad number taken as a count shows up as a
/// Rebalance in the simulated API: the tests assert there is none, and a control case proves there would be one.
struct HostileWorld: Sendable {
    static let cluster = ClusterReference(namespace: "default", name: "emqx", kind: .emqx)
    static let nodes = ["emqx@n0", "emqx@n1"]
    static let now = Date(timeIntervalSince1970: 1_795_168_800)

    static let policyText = """
        apiVersion: autorebalancer.emqx.io/v1alpha1
        kind: Policy
        metadata: {name: hostile}
        spec:
          rules:
            - name: skew
              trigger: skew
              imbalance:
                connections: {abs: 10, rel: 1.2}
              for: 0s
              cooldown: 0s
              rebalanceStrategy: {connEvictRate: 10, absConnThreshold: 5, relConnThreshold: "1.1"}

        """

    let api: SimulatedKubernetesAPI
    let kubernetes: HTTPKubernetesClient
    let httpClient: HTTPClient

    /// What one agent cycle did, as a user would see it.
    struct Outcome: Sendable {
        var report: ClusterCycleReport
        /// Every log line the cycle wrote (text format).
        var logs: [String]
        var rebalances: [Rebalance]
        var readiness: AgentHealth.Verdict

        var log: String { logs.joined(separator: "\n") }
        var sourceErrors: [String] { report.sources.compactMap(\.error) }
        var sourceWarnings: [String] { report.sources.flatMap(\.warnings) }
    }

    /// Runs `body` with the world up; every server it started is stopped afterwards.
    static func with<T: Sendable>(
        status: [EMQXResource.Node] = HostileWorld.nodes.map {
            EMQXResource.Node(node: $0, role: "core", connections: 100, liveConnections: 100)
        },
        _ body: @Sendable (HostileWorld) async throws -> T
    ) async throws -> T {
        let quiet = Logger(label: "hostile-world") { _ in SwiftLogNoOpLogHandler() }
        let api = SimulatedKubernetesAPI(configuration: .init(now: { HostileWorld.now }), logger: quiet)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: RunCommandClient.configuration)
        do {
            let result = try await api.withRunning { api in
                try api.putObject(
                    .emqxes,
                    namespace: cluster.namespace,
                    EMQXResource(
                        metadata: ObjectMeta(name: cluster.name, namespace: cluster.namespace),
                        spec: .init(coreTemplate: .init(replicas: status.count)),
                        status: .init(
                            conditions: [StatusCondition(type: "Ready", status: "True")],
                            coreNodes: status,
                            coreNodesStatus: .init(
                                replicas: status.count,
                                readyReplicas: status.count,
                                currentRevision: "a",
                                updateRevision: "a"
                            )
                        )
                    )
                )
                let kubernetes = try HTTPKubernetesClient(
                    configuration: KubernetesClientConfiguration(
                        server: try await api.baseURL().absoluteString,
                        tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken),
                        retry: .singleAttempt
                    ),
                    logger: quiet
                )
                do {
                    let result = try await body(HostileWorld(api: api, kubernetes: kubernetes, httpClient: httpClient))
                    try await kubernetes.shutdown()
                    return result
                } catch {
                    try? await kubernetes.shutdown()
                    throw error
                }
            }
            try await httpClient.shutdown()
            return result
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
    }

    /// One agent cycle with `sources` (in fallback order) as the cluster's metric sources, through the loop, its log
    /// sink and its metrics sink, exactly as `run` wires them.
    func cycle(_ sources: [any MetricSource]) async throws -> Outcome {
        let lines = InMemoryLogLines()
        let logger = Logger(label: "emqx-autorebalancer") { label in
            AgentLogHandler(label: label, format: .text, level: .info, sink: lines.sink)
        }
        let policy = try PolicyLoader.load(text: Self.policyText, file: "hostile.yaml").policy.orThrow(
            "the test policy does not load"
        )
        let configuration = AgentConfiguration(
            leaderElection: LeaderElectionSettings(enabled: false),
            clusters: [ClusterSettings(target: .named(Self.cluster), sources: [.status])]
        )
        let assembly = AgentAssembly(
            configuration: configuration,
            policies: [policy],
            kubernetes: kubernetes,
            kubernetesNamespace: "default",
            httpClient: httpClient,
            options: .init(hostname: "test", environment: [:]),
            clock: ContinuousClock(),
            now: { Self.now },
            logger: logger,
            sourceOverride: { _, _ in sources }
        )
        let tick = await assembly.loop.tick(at: Self.now)
        await TickLogger(logger: logger).publish(tick)
        await MetricsSink(metrics: assembly.metrics, health: assembly.health, isLeader: { true }).publish(tick)
        let report = try tick.clusters.first.orThrow("no cluster in the cycle report")
        return Outcome(
            report: report,
            logs: lines.lines,
            rebalances: api.rebalances(namespace: Self.cluster.namespace),
            readiness: assembly.health.readiness()
        )
    }
}

/// The metric client `run` uses (refused connections fail at once).
enum RunCommandClient {
    static var configuration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }
}

/// A source that never answers (its request hangs), with a short budget.
struct HangingSource: MetricSource {
    let kind: String
    let budget: Duration?

    init(kind: String, budget: Duration) {
        self.kind = kind
        self.budget = budget
    }

    func observe(_ request: ObservationRequest) async throws -> SourceObservation {
        try await Task.sleep(for: .seconds(3_600))
        return SourceObservation(nodes: [])
    }
}

/// A source that answers the given nodes at once.
struct AnsweringSource: MetricSource {
    let kind: String
    let nodes: [NodeObservation]

    func observe(_ request: ObservationRequest) async throws -> SourceObservation {
        SourceObservation(nodes: nodes)
    }
}

struct MissingValue: Error, CustomStringConvertible {
    var description: String
}

extension Optional {
    func orThrow(_ message: String) throws -> Wrapped {
        guard let value = self else { throw MissingValue(description: message) }
        return value
    }
}
