import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import Observe
import Simulation
import TestSupport
import Testing

@testable import Agent

/// `emqx: {mode: nodes}`: every node's counts of a cluster from one `GET /api/v5/nodes`, against simulated EMQX 5
/// nodes over HTTP.
struct NodesSourceTests {
    static let reference = ClusterReference(namespace: "default", name: "emqx")

    static func source(
        _ cluster: SimulatedEMQXCluster,
        secret: String,
        url: String? = nil,
        targets: Bool = true
    ) -> any MetricSource {
        let factory = MetricSourceFactory(
            httpClient: .shared,
            discovery: OperatorDiscovery(api: InMemoryKubernetesAPI(now: { Date() })),
            environment: ["EMQX_SECRET": secret],
            now: { Date() }
        )
        let settings = EMQXScrapeSettings(
            mode: .nodes,
            url: url,
            targets: targets ? cluster.endpoints.mapValues(\.absoluteString) : [:],
            http: HTTPClientSettings(
                auth: .basic(username: cluster.configuration.credentials.key, password: .environment("EMQX_SECRET")),
                timeout: 10
            )
        )
        return factory.sources(
            for: ClusterSettings(target: .named(reference), sources: [.emqx(settings)]),
            cluster: reference
        )[0]
    }

    static func configuration() -> SimulatedEMQXConfiguration {
        SimulatedEMQXConfiguration(
            name: "emqx",
            namespace: "default",
            kind: .emqx,
            nodes: [
                SimulatedNodeSpec(liveConnections: 1200, disconnectedSessions: 30),
                SimulatedNodeSpec(liveConnections: 800), SimulatedNodeSpec(liveConnections: 0),
            ],
            seed: 7
        )
    }

    @Test func oneRequestGivesEveryNodesLiveConnectionsSessionsRoleAndUptime() async throws {
        let cluster = SimulatedEMQXCluster(configuration: Self.configuration())
        try await cluster.start()
        let expected = cluster.nodes.map { ExpectedNode(name: $0.name) }
        let observation = try await Self.source(cluster, secret: cluster.configuration.credentials.secret)
            .observe(ObservationRequest(cluster: Self.reference, expectedNodes: expected))
        #expect(observation.nodes.map(\.name) == cluster.nodes.map(\.name))
        #expect(observation.nodes.map(\.liveConnections) == [1200, 800, 0])
        #expect(observation.nodes.map(\.sessions) == [1230, 800, 0])
        #expect(observation.nodes.allSatisfy { $0.role == .core && $0.running == true && ($0.uptimeSeconds ?? 0) > 0 })
        #expect(observation.warnings.isEmpty, "\(observation.warnings)")
        await cluster.stop()
    }

    @Test func aWrongSecretFailsTheSourceWithoutShowingTheSecret() async throws {
        let cluster = SimulatedEMQXCluster(configuration: Self.configuration())
        try await cluster.start()
        let secret = "not-the-secret-\(UInt32.random(in: 0...UInt32.max))"
        do {
            _ = try await Self.source(cluster, secret: secret).observe(ObservationRequest(cluster: Self.reference))
            Issue.record("expected the source to fail")
        } catch {
            #expect("\(error)".contains("401") || "\(error)".localizedCaseInsensitiveContains("api key"), "\(error)")
            #expect(!"\(error)".contains(secret))
        }
        await cluster.stop()
    }

    @Test func stoppedNodesAndRepeatsAreReportedNotCounted() async throws {
        let nodes: [LoadRebalance.NodeInfo] = [
            .init(node: "emqx@a", role: .core, liveConnections: 10, sessions: 12, uptimeMilliseconds: 5000),
            .init(node: "emqx@a", role: .core, liveConnections: 99, sessions: 99),
            .init(node: "emqx@b", nodeStatus: "stopped", role: .core),
            .init(node: "emqx@c", role: .replicant, liveConnections: nil, sessions: 3, uptimeMilliseconds: .max),
        ]
        let source = EMQXNodesSource(read: { _, _ in nodes })
        let observation = try await source.observe(
            ObservationRequest(
                cluster: Self.reference,
                expectedNodes: ["emqx@a", "emqx@b", "emqx@c", "emqx@d"].map { ExpectedNode(name: $0) }
            )
        )
        #expect(observation.nodes.map(\.name) == ["emqx@a", "emqx@b", "emqx@c"])
        #expect(observation.nodes[0].liveConnections == 10, "the first entry of a repeated node is used")
        #expect(observation.nodes[1].running == false && observation.nodes[1].liveConnections == nil)
        #expect(observation.nodes[2].liveConnections == nil && observation.nodes[2].sessions == 3)
        #expect(observation.nodes[2].uptimeSeconds == nil, "an implausible uptime is unknown")
        #expect(observation.warnings.contains { $0.contains("more than once") })
        #expect(observation.warnings.contains { $0.contains("does not list emqx@d") })
        #expect(observation.warnings.contains { $0.contains("no usable live_connections for node emqx@c") })
    }
}
