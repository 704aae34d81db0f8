import AutorebalancerCore
import Foundation
import Testing

@testable import Simulation

/// The served text read back with the project's own exposition parser, as the agent's direct scrape reads it.
@Suite struct EMQXExpositionParserTests {
    @Test(arguments: EMQXStatsMode.allCases)
    func emqx5TextParsesStrictly(mode: EMQXStatsMode) async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([1200, 800, 0]))
        try cluster.apply(.scaleOut(count: 1, role: .replicant))
        try await cluster.serving { () async throws in
            let text = try await SimHTTP.send(cluster.url(1), "/api/v5/prometheus/stats?mode=\(mode.rawValue)").body
            let document = try ExpositionParser(mode: .strict).parse(text)
            #expect(document.skipped.isEmpty)
            #expect(document.family(named: "emqx_live_connections_count")?.type == .gauge)
            #expect(document.family(named: "emqx_client_connected")?.type == .counter)
            #expect(document.family(named: "emqx_mria_lag")?.type == .gauge)
            #expect(
                document.family(named: "emqx_connections_count")?.help == ""
                    || document.family(named: "emqx_connections_count")?.help == nil
            )
        }
    }

    @Test func nodeModeScrapeReadsBackAsTheNode() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([1200, 800, 0]))
        cluster.advance(by: .seconds(10))
        try await cluster.serving { () async throws in
            let name = cluster.nodes[1].name
            let text = try await SimHTTP.send(cluster.url(1), "/api/v5/prometheus/stats").body
            let observations = EMQXExposition.nodes(
                from: try ExpositionParser().parse(text),
                scrapedNode: name,
                observedAt: nil
            )
            let node = try #require(observations.first)
            #expect(observations.count == 1)
            #expect(node.name == name)
            #expect(node.liveConnections == 800)
            #expect(node.sessions == 800)
            #expect(node.connections == 800)
            #expect(node.restartCounter == Double(cluster.nodes[1].counters.clientConnected))
        }
    }

    @Test func unaggregatedScrapeReadsBackEveryRunningNode() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([1200, 800, 0, 0]))
        try cluster.apply(.stop(node: cluster.nodes[3].name))
        try await cluster.serving { () async throws in
            let text = try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats?mode=all_nodes_unaggregated")
                .body
            let document = try ExpositionParser().parse(text)
            let observations = EMQXExposition.nodes(from: document, scrapedNode: nil, observedAt: nil)
            let live = Dictionary(uniqueKeysWithValues: observations.map { ($0.name, $0.liveConnections) })
            #expect(live.count == 3)
            for node in cluster.nodes.prefix(3) {
                #expect(live[node.name] == Double(node.liveConnections))
            }
            let counts = EMQXExposition.cluster(from: document)
            #expect(counts.nodesRunning == 3)
            #expect(counts.nodesStopped == 1)
        }
    }

    @Test func emqx44ScrapeReadsBackWithUptime() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        cluster.advance(by: .seconds(42))
        try await cluster.serving { () async throws in
            let name = cluster.nodes[3].name
            let text = try await SimHTTP.send(cluster.url(3), "/api/v4/emqx_prometheus?type=prometheus").body
            let document = try ExpositionParser(mode: .strict).parse(text)
            let node = try #require(EMQXExposition.nodes(from: document, scrapedNode: name, observedAt: nil).first)
            #expect(node.liveConnections == 0)
            #expect(node.uptimeSeconds == 42)
            let donor = EMQXExposition.nodes(
                from: try ExpositionParser().parse(
                    try await SimHTTP.send(cluster.url(2), "/api/v4/emqx_prometheus?type=prometheus").body
                ),
                scrapedNode: cluster.nodes[2].name,
                observedAt: nil
            ).first
            #expect(donor?.liveConnections == 3334)
        }
    }
}
