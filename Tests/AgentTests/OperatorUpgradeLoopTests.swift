import AsyncHTTPClient
import AutorebalancerCore
import Demo
import Foundation
import Kubernetes
import Logging
import Simulation
import Testing

@testable import Agent

/// The loop follows the operator generation under it: an operator upgraded while the agent runs (its version now
/// answers 404) is rediscovered, the object read at the new version, and the plan (how the agent acts) changes with
/// it; the cycle report carries the one line per cluster.
@Suite struct OperatorUpgradeLoopTests {
    @Test func anOperatorUpgradedUnderTheLoopIsFollowed() async throws {
        let cluster = SimulatedEMQXCluster(
            configuration: SimulatedEMQXConfiguration(
                name: "emqx",
                kind: .emqx,
                nodes: [3000, 3000, 3000, 0].map { SimulatedNodeSpec(liveConnections: $0) },
                version: "5.10.1"
            ),
            logger: Logger(label: "upgrade-emqx")
        )
        try await cluster.start()
        let api = SimulatedKubernetesAPI(logger: Logger(label: "upgrade-api"))
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await api.withRunning { api in
                let credentials = cluster.configuration.credentials
                api.addEMQX(
                    EMQXBinding(
                        kind: .emqx,
                        name: "emqx",
                        endpoints: [:],
                        username: credentials.key,
                        password: credentials.secret
                    )
                )
                api.setEMQXEndpointProvider(namespace: "default", name: "emqx") { cluster.endpoints }
                let simulatedOperator = SimulatedEMQXOperator(
                    api: api,
                    clock: SimulationClock(speed: 1000),
                    configuration: .init(emqxRefreshInterval: .zero),
                    logger: Logger(label: "upgrade-operator")
                )
                await simulatedOperator.reconcileOnce()
                let policy = try #require(PolicyLoader.load(text: DemoPolicy.text, file: DemoPolicy.file).policy)
                let configuration = AgentConfiguration(
                    leaderElection: LeaderElectionSettings(enabled: false),
                    clusters: [
                        ClusterSettings(
                            target: .named(ClusterReference(namespace: "default", name: "emqx")),
                            sources: [.status]
                        )
                    ]
                )
                let kubernetes = try HTTPKubernetesClient(
                    configuration: KubernetesClientConfiguration(
                        server: try await api.baseURL().absoluteString,
                        tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken)
                    ),
                    logger: Logger(label: "upgrade-client")
                )
                let assembly = AgentAssembly(
                    configuration: configuration,
                    policies: [policy],
                    kubernetes: kubernetes,
                    kubernetesNamespace: "default",
                    httpClient: httpClient,
                    options: .init(dryRun: true, hostname: "test", environment: [:]),
                    clock: ContinuousClock(),
                    now: { Date() },
                    logger: Logger(label: "upgrade-agent")
                )

                var report = try #require(await assembly.loop.tick(at: Date()).clusters.first)
                #expect(report.errors.isEmpty, "\(report.errors)")
                #expect(
                    report.planLine(sources: ["status"])
                        == "default/emqx (EMQX): EMQX Operator 2.2 (apps.emqx.io/v2beta1), EMQX 5.10.1, source status, creates apps.emqx.io/v2beta1 Rebalances"
                )
                // The status source reads the omitted counts of the empty node as 0 on 2.2 …
                #expect(report.snapshot?.nodes.map(\.liveConnections) == [3000, 3000, 3000, 0])

                api.upgradeOperator(to: .v2_3)
                await simulatedOperator.reconcileOnce()
                report = try #require(await assembly.loop.tick(at: Date()).clusters.first)
                #expect(report.errors.isEmpty, "\(report.errors)")
                #expect(report.plan?.generation == .v2_3)
                #expect(report.plan?.objectVersion == .v2)
                // … and on 2.3, where `connections` now means connected clients.
                #expect(report.snapshot?.nodes.map(\.liveConnections) == [3000, 3000, 3000, 0])

                api.upgradeOperator(to: .v3_0)
                await simulatedOperator.reconcileOnce()
                report = try #require(await assembly.loop.tick(at: Date()).clusters.first)
                #expect(report.plan?.objectVersion == .v3beta1)
                #expect(
                    report.plan?.acting.alertOnlyReason?.hasPrefix("EMQX Operator 3.0 has no Rebalance resource")
                        == true
                )
                // No Rebalance is listed on 3.0 (it serves none): no error about it.
                #expect(!report.errors.contains { $0.contains("Rebalances") }, "\(report.errors)")
                #expect(report.snapshot?.facts.cannotAct != nil)
                #expect(report.snapshot?.facts.podsBeingRemoved == [])
                try await kubernetes.shutdown()
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
