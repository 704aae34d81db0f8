import Act
import AsyncHTTPClient
import AutorebalancerCore
import Demo
import Foundation
import Kubernetes
import Logging
import Observe
import Simulation
import Synchronization
import Testing

@testable import Agent

/// The agent's loop, one `tick(at:)` at a time on a hand-stepped clock, against the simulated EMQX cluster and the
/// simulated Kubernetes API with its operator, all over HTTP on loopback.
@Suite struct EvaluationLoopTests {
    /// A calendar the test moves by hand; the agent's observations and evaluations both read it.
    final class TestCalendar: Sendable {
        let state = Mutex(Date(timeIntervalSince1970: 1_795_170_120))
        var now: Date { state.withLock { $0 } }
        func advance(by seconds: TimeInterval) { state.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    @Test func seedClusterGetsExactlyOneRebalanceThatEndsBalanced() async throws {
        let calendar = TestCalendar()
        let cluster = SimulatedEMQXCluster(configuration: .seedScenario(), logger: Logger(label: "test-emqx"))
        try await cluster.start()
        let api = SimulatedKubernetesAPI(configuration: .init(now: { calendar.now }), logger: Logger(label: "test-api"))
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await api.withRunning { api in
                let credentials = cluster.configuration.credentials
                api.addEMQX(
                    EMQXBinding(
                        kind: .emqxEnterprise,
                        name: "emqx-ee",
                        endpoints: [:],
                        username: credentials.key,
                        password: credentials.secret
                    )
                )
                api.setEMQXEndpointProvider(namespace: "default", name: "emqx-ee") { cluster.endpoints }
                let simulatedOperator = SimulatedEMQXOperator(
                    api: api,
                    clock: SimulationClock(speed: 1000),
                    configuration: .init(rebalancePollInterval: .zero, emqxRefreshInterval: .zero),
                    logger: Logger(label: "test-operator")
                )
                await simulatedOperator.reconcileOnce()

                let policy = try #require(PolicyLoader.load(text: DemoPolicy.text, file: DemoPolicy.file).policy)
                let reference = ClusterReference(namespace: "default", name: "emqx-ee", kind: .emqxEnterprise)
                let configuration = AgentConfiguration(
                    leaderElection: LeaderElectionSettings(enabled: false),
                    clusters: [ClusterSettings(target: .named(reference), sources: [.emqx(EMQXScrapeSettings())])],
                    rebalances: RebalanceSettings(keepFinished: 5, settleTime: 10, stuckAfter: 600)
                )
                let kubernetes = try HTTPKubernetesClient(
                    configuration: KubernetesClientConfiguration(
                        server: try await api.baseURL().absoluteString,
                        tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken)
                    ),
                    logger: Logger(label: "test-client")
                )
                // Shut down on every path: a client dropped without shutdown() traps in its deinit and ends the run.
                try await kubernetes.shuttingDown {
                    let assembly = AgentAssembly(
                        configuration: configuration,
                        policies: [policy],
                        kubernetes: kubernetes,
                        kubernetesNamespace: "default",
                        httpClient: httpClient,
                        options: .init(hostname: "test", environment: [:]),
                        clock: ContinuousClock(),
                        now: { calendar.now },
                        logger: Logger(label: "test-agent"),
                        sourceOverride: { _, _ in
                            [
                                try! EMQXScrapeSource(
                                    configuration: .init(targets: cluster.endpoints.mapValues(\.absoluteString)),
                                    httpClient: httpClient,
                                    now: { calendar.now }
                                )
                            ]
                        }
                    )

                    // Every 5 s of simulated time: the cluster moves, the operator reconciles, the agent ticks.
                    var reports: [ClusterCycleReport] = []
                    for _ in 0..<60 {
                        let report = try #require(await assembly.loop.tick(at: calendar.now).clusters.first)
                        reports.append(report)
                        if report.follow.contains(where: {
                            if case .record = $0.action { return $0.performed } else { return false }
                        }) {
                            break
                        }
                        calendar.advance(by: 5)
                        cluster.advance(by: .seconds(5))
                        await simulatedOperator.reconcileOnce()
                    }

                    // The first cycles: the skew rule is pending (for 20 s), with the formula and no write.
                    let first = try #require(reports.first)
                    #expect(first.errors.isEmpty, "\(first.errors)")
                    #expect(first.sources.map(\.source) == ["emqx"])
                    #expect(first.evaluations.first { $0.rule == "skew" }?.state == .pending)
                    #expect(first.action == nil)
                    // Exactly one cycle created the Rebalance; later ones were held back by it.
                    let creations = reports.filter { $0.action?.created == true }
                    #expect(creations.count == 1)
                    let created = try #require(creations.first)
                    // Node 3 reports an uptime of seconds: to a freshly started agent that reads as a node that just
                    // (re)started, so the restart rule (priority 10) acts rather than the generic skew rule.
                    #expect(created.decisions.first?.rule == "restart")
                    #expect(created.decisions.first?.formula.contains("(imbalanced)") == true)
                    let after = reports.drop { $0.at <= created.at }
                    #expect(after.allSatisfy { $0.action == nil })
                    #expect(
                        after.contains { report in
                            report.evaluations.contains { $0.whyNot?.reason == .rebalanceRunning }
                        }
                    )

                    // One Rebalance, completed, judged balanced from the metrics, with the decision in its annotations.
                    let rebalances = api.rebalances(namespace: "default")
                    #expect(rebalances.count == 1)
                    let rebalance = try #require(rebalances.first)
                    #expect(rebalance.status?.phaseValue == .completed)
                    #expect(
                        rebalance.spec.rebalanceStrategy
                            == RebalanceStrategy(
                                connEvictRate: 10,
                                sessEvictRate: 10,
                                waitTakeover: 10,
                                waitHealthCheck: 10,
                                absConnThreshold: 100,
                                absSessThreshold: 100,
                                relConnThreshold: "1.1",
                                relSessThreshold: "1.1"
                            )
                    )
                    #expect(rebalance.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
                    #expect(
                        rebalance.metadata.annotations?[RebalanceMetadata.decisionKey]?.contains("\"rule\":\"restart\"")
                            == true
                    )
                    #expect(cluster.nodes.map(\.liveConnections) == [2553, 2553, 2554, 2340])
                    // The Events on the EMQX object tell the story.
                    let reasons = Set(api.events(namespace: "default").compactMap(\.reason))
                    #expect(reasons.isSuperset(of: ["RebalanceCreated", "RebalanceCompleted"]))

                    // The once-report renders every rule with its numbers.
                    let rendered = OnceReport.render(TickReport(at: first.at, duration: .zero, clusters: [first]))
                    #expect(rendered.contains("cluster default/emqx-ee (EmqxEnterprise)"))
                    #expect(rendered.contains("skew [skew, rebalance]: pending"))
                    #expect(rendered.contains("avg(3333,3333,3334)=3333.3 > 0*1.2=0.0 and > 0+200=200.0 (imbalanced)"))
                }
            }
        } catch {
            try? await httpClient.shutdown()
            await cluster.stop()
            throw error
        }
        try await httpClient.shutdown()
        await cluster.stop()
    }
}

extension HTTPKubernetesClient {
    /// Runs `body`, then shuts the client down, whether `body` returned or threw (a failed `#require` included).
    func shuttingDown<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            try? await shutdown()
            return result
        } catch {
            try? await shutdown()
            throw error
        }
    }
}
