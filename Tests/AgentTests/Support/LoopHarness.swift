import Act
import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import Report
import Synchronization
import TestSupport

@testable import Agent

/// The agent's loop wired to the in-memory Kubernetes API, metric sources that answer what the test says, and a
/// manual clock: one `tick()` is one cycle at the clock's date, its report published to the metrics sink.
final class LoopHarness: Sendable {
    static let start = Date(timeIntervalSince1970: 1_795_168_800)  // 2026-11-20T10:00:00Z
    static let cluster = ClusterReference(namespace: "default", name: "emqx-ee", kind: .emqx)
    static let nodes = ["emqx@n0", "emqx@n1", "emqx@n2", "emqx@n3"]
    static let imbalanced: [Double] = [3333, 3333, 3334, 0]

    let clock: ManualClock
    let api: InMemoryKubernetesAPI
    let store: ConfigurationStore
    let loop: EvaluationLoop<ManualClock>
    let metrics: AgentMetrics
    let alerts: AlertSink
    /// Whether this replica holds the Lease.
    let leader = Shared(true)
    /// Live connections per cluster name, in `nodes` order; a cluster without an entry reports nothing.
    let counts = Shared<[String: [Double]]>([:])
    /// The metric sources of a cycle, in fallback order (default: one that reports `counts`).
    let sources = Shared<[any MetricSource]?>(nil)

    /// - Parameters:
    ///   - policies: policy YAML texts.
    ///   - clusters: the EMQX objects to watch (all named `clusters` entries).
    init(
        policies: [String],
        clusters: [String] = [LoopHarness.cluster.name],
        dryRun: Bool = false,
        createRetry: CreateRetryPolicy = .default,
        clusterTimeout: Duration = .seconds(20),
        dryRunLock: String? = nil,
        store: ConfigurationStore? = nil
    ) throws {
        let clock = ManualClock(startDate: Self.start)
        self.clock = clock
        let api = InMemoryKubernetesAPI(now: { clock.date })
        self.api = api
        for name in clusters { api.put(Self.object(name)) }
        let loaded = try policies.enumerated().map { index, text in
            guard let policy = PolicyLoader.load(text: text, file: "policy-\(index).yaml").policy else {
                throw ConfigurationError("policy \(index) does not load")
            }
            return policy
        }
        let configuration = AgentConfiguration(
            dryRun: dryRun,
            leaderElection: LeaderElectionSettings(enabled: false),
            clusters: clusters.map {
                ClusterSettings(target: .named(ClusterReference(namespace: "default", name: $0, kind: .emqx)))
            },
            rebalances: RebalanceSettings(createRetry: createRetry)
        )
        self.store = store ?? ConfigurationStore(ActiveConfiguration(configuration: configuration, policies: loaded))
        let logger = Logger(label: "test-loop")
        let leader = self.leader
        let canWrite: @Sendable () -> Bool = { leader.withLock { $0 } }
        let events = EventRecorder(api: api, canWrite: canWrite, instance: "test", logger: logger)
        let dryRunActuator = DryRunActuator(logger: logger)
        let actuators = ActuatorChoice(
            rebalanceResource: KubernetesActuator(
                api: api,
                events: events,
                probe: nil,
                canWrite: canWrite,
                logger: logger
            ),
            dryRun: dryRunActuator
        )
        let counts = self.counts
        let sources = self.sources
        metrics = AgentMetrics(version: "test")
        alerts = AlertSink(configuration: .init(), alertmanager: nil, webhooks: [])
        loop = EvaluationLoop(
            store: self.store,
            dependencies: .init(
                discovery: OperatorDiscovery(api: api),
                actuators: actuators,
                makeSources: { _, cluster in
                    sources.withLock { $0 } ?? [
                        CountsSource(
                            kind: "prometheus",
                            counts: { counts.withLock { $0[cluster.name] } },
                            now: { clock.date }
                        )
                    ]
                },
                clusterTimeout: clusterTimeout,
                events: events,
                dryRunLock: dryRunLock
            ),
            sinks: [],
            clock: clock,
            now: { clock.date },
            logger: logger
        )
        self.counts.withLock { state in for name in clusters { state[name] = Self.imbalanced } }
    }

    /// One cycle at the clock's date, published to the metrics sink.
    func tick() async -> TickReport {
        let report = await loop.tick(at: clock.date)
        await MetricsSink(metrics: metrics, health: nil, isLeader: { self.leader.withLock { $0 } }).publish(report)
        return report
    }

    /// Runs a cycle every `interval` seconds for `cycles` cycles, advancing the clock after each.
    func run(cycles: Int, every interval: Int = 15, before: (Int) -> Void = { _ in }) async -> [ClusterCycleReport] {
        var reports: [ClusterCycleReport] = []
        for cycle in 0..<cycles {
            before(cycle)
            reports += await tick().clusters
            clock.advance(by: .seconds(interval))
        }
        return reports
    }

    /// Seconds since the start of the test.
    func offset(_ date: Date) -> Int { Int(date.timeIntervalSince(Self.start).rounded()) }

    /// The instants (seconds since the start) of every create the API saw.
    var createAttempts: [Int] { api.calls.filter { $0.verb == .createRebalance }.map { offset($0.at) } }

    // MARK: Fixtures

    /// A Ready EMQX 5 object with four core nodes.
    static func object(_ name: String) -> ClusterObject {
        var metadata = ObjectMeta(name: name, namespace: "default")
        metadata.uid = "uid-\(name)"
        return .emqx(
            EMQXResource(
                metadata: metadata,
                status: .init(
                    conditions: [StatusCondition(type: "Ready", status: "True")],
                    coreNodes: nodes.map { EMQXResource.Node(node: $0, version: "5.8.0", role: "core") }
                )
            )
        )
    }

    /// A policy with one skew rule (`for` 15s) on a 15 s clock.
    static func policy(
        name: String = "p",
        rule: String = "skew",
        cooldown: String = "5m",
        maxPerDay: Int = 3,
        paused: Bool = false
    ) -> String {
        """
        apiVersion: autorebalancer.emqx.io/v1alpha1
        kind: Policy
        metadata: {name: \(name)}
        spec:
          evaluationInterval: 15s
          staleness: 60s
          paused: \(paused)
          limits: {maxRebalancesPerDay: \(maxPerDay)}
          rules:
            - name: \(rule)
              trigger: skew
              imbalance:
                connections: {abs: 200, rel: 1.2}
              for: 15s
              cooldown: \(cooldown)
              minConnections: 100
              rebalanceStrategy: {connEvictRate: 10, absConnThreshold: 100, relConnThreshold: "1.1"}
        """
    }
}

/// A value shared between the test and the closures it hands the loop.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}

/// A metric source reporting the live connections the test sets (`nil`: it fails).
struct CountsSource: MetricSource {
    struct Unreachable: Error, CustomStringConvertible { var description: String { "connection refused" } }

    let kind: String
    let counts: @Sendable () -> [Double]?
    let now: @Sendable () -> Date

    func observe(_ request: ObservationRequest) async throws -> SourceObservation {
        guard let counts = counts() else { throw Unreachable() }
        let at = now()
        return SourceObservation(
            nodes: zip(LoopHarness.nodes, counts).map { name, live in
                NodeObservation(
                    name: name,
                    role: .core,
                    running: true,
                    liveConnections: live,
                    connections: live,
                    observedAt: at
                )
            }
        )
    }
}

extension ClusterCycleReport {
    /// The evaluation of `rule` (of any policy, the first one found).
    func evaluation(_ rule: String, policy: String? = nil) -> RuleEvaluation? {
        policies.first { policy == nil || $0.policy == policy }?.result.evaluations.first { $0.rule == rule }
    }
}
