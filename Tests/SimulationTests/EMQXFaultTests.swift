import AsyncHTTPClient
import Foundation
import Testing

@testable import Simulation

@Suite struct EMQXFaultTests {
    @Test func latencyDelaysEveryAnswer() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([10, 10]))
        try await cluster.serving { () async throws in
            cluster.setFaults(NodeFaults(latency: .milliseconds(300)), of: cluster.nodes[0].name)
            let clock = ContinuousClock()
            let started = clock.now
            let answer = try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats")
            #expect(answer.status == 200)
            #expect(clock.now - started >= .milliseconds(300))
        }
    }

    @Test func serverErrorsAnswer500() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([10, 10]))
        try await cluster.serving { () async throws in
            cluster.setFaults(NodeFaults(serverErrors: true), of: cluster.nodes[1].name)
            #expect(try await SimHTTP.send(cluster.url(1), "/api/v5/prometheus/stats").status == 500)
            #expect(try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats").status == 200)
            cluster.setFaults(.none, of: cluster.nodes[1].name)
            #expect(try await SimHTTP.send(cluster.url(1), "/api/v5/prometheus/stats").status == 200)
        }
    }

    @Test func refusedConnectionsThenBackOnTheSameURL() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([10, 10]))
        try await cluster.serving { () async throws in
            let name = cluster.nodes[0].name
            let url = cluster.url(0)
            cluster.setFaults(NodeFaults(refuseConnections: true), of: name)
            try await cluster.waitUntilServing()
            await #expect(throws: (any Error).self) {
                _ = try await SimHTTP.send(url, "/api/v5/prometheus/stats", timeout: .milliseconds(500))
            }
            // The node itself keeps serving clients.
            #expect(cluster.nodes[0].liveConnections == 10)
            cluster.setFaults(.none, of: name)
            try await cluster.waitUntilServing()
            #expect(cluster.endpoint(of: name) == url)
            #expect(try await SimHTTP.send(url, "/api/v5/prometheus/stats").status == 200)
        }
    }

    @Test func stoppedNodeRefusesConnections() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        try await cluster.serving { () async throws in
            let url = cluster.url(1)
            try cluster.apply(.stop(node: cluster.nodes[1].name))
            try await cluster.waitUntilServing()
            await #expect(throws: (any Error).self) {
                _ = try await SimHTTP.send(url, "/api/v4/emqx_prometheus?type=prometheus", timeout: .milliseconds(500))
            }
            let nodes = try await SimHTTP.send(
                cluster.url(0),
                "/api/v4/nodes",
                credentials: cluster.configuration.credentials
            )
            // EMQX 4.4 drops stopped nodes from the list.
            #expect((nodes.object["data"] as? [Any])?.count == 3)
            try cluster.apply(.start(node: cluster.nodes[1].name))
            try await cluster.waitUntilServing()
            #expect(try await SimHTTP.send(url, "/api/v4/emqx_prometheus?type=prometheus").status == 200)
        }
    }

    @Test func metricsStopAnsweringWhileTheNodeKeepsServing() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([500, 500]))
        try await cluster.serving { () async throws in
            let name = cluster.nodes[0].name
            cluster.setFaults(NodeFaults(metricsUnresponsive: true, unresponsiveLimit: .seconds(30)), of: name)
            await #expect(throws: (any Error).self) {
                _ = try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats", timeout: .milliseconds(400))
            }
            let nodes = try await SimHTTP.send(
                cluster.url(0),
                "/api/v5/nodes",
                credentials: cluster.configuration.credentials
            )
            #expect(nodes.status == 200)
            try cluster.apply(.connect(clients: 100))
            #expect(cluster.nodes[0].liveConnections == 550)
            cluster.setFaults(NodeFaults(metricsUnresponsive: true, unresponsiveLimit: .milliseconds(200)), of: name)
            #expect(try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats").status == 503)
            cluster.setFaults(.none, of: name)
            #expect(try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats").status == 200)
        }
    }

    @Test func scaleOutStartsAServerForTheNewNode() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        try await cluster.serving { () async throws in
            try cluster.apply(.scaleOut(count: 1))
            try await cluster.waitUntilServing()
            let url = try #require(cluster.endpoint(of: cluster.nodes[4].name))
            let text = try await SimHTTP.send(url, "/api/v4/emqx_prometheus?type=prometheus").body
            #expect(text.contains("emqx_live_connections_count 0\n"))
            try cluster.apply(.scaleIn(count: 1))
            try await cluster.waitUntilServing()
            #expect(cluster.endpoints.count == 4)
        }
    }
}
