import AutorebalancerCore
import Foundation
import Testing

@testable import Simulation

@Suite struct EMQXSeedScenarioTests {
    @Test func seedScenarioNamesNodesAsTheOperatorDoes() {
        let model = EMQXClusterModel(configuration: .seedScenario())
        #expect(
            model.nodes.map(\.name)
                == (0...3).map { "emqx-ee@emqx-ee-\($0).emqx-ee-headless.default.svc.cluster.local" }
        )
        #expect(model.nodes.map(\.liveConnections) == [3333, 3333, 3334, 0])
        #expect(model.nodes.map(\.sessions) == [3333, 3333, 3334, 0])
        #expect(model.nodes.allSatisfy { $0.role == .core && $0.isRunning })
        #expect(model.nodes[3].uptime(at: model.now) == .zero)
    }

    @Test func seedRebalanceEndsOnTheArticleFiguresInTheModel() throws {
        var model = EMQXClusterModel(configuration: .seedScenario())
        let coordinator = model.nodes[0].name
        try model.startRebalance(coordinator: coordinator, options: seedOptions())
        #expect(model.rebalances.first?.donors == Array(model.nodes.prefix(3).map(\.name)))
        #expect(model.rebalances.first?.recipients == [model.nodes[3].name])
        model.advance(by: .seconds(300))
        #expect(model.rebalances.isEmpty)
        #expect(model.nodes.map(\.liveConnections) == [2553, 2553, 2554, 2340])
        #expect(model.totalClients == 10_000)
        let outcome = try #require(model.finishedRebalances.last)
        #expect(outcome.ending == .completed)
        #expect(outcome.connectionEvictionRounds == 78)
        #expect(outcome.sessionEvictionRounds == 0)
        let counts = model.nodes.map {
            BalanceMath.NodeCounts(
                name: $0.name,
                liveConnections: Double($0.liveConnections),
                sessions: Double($0.sessions)
            )
        }
        let evaluation = BalanceMath.evaluateConnections(counts, threshold: seedOptions().connectionThreshold)
        #expect(evaluation.formula == "avg(2553,2553,2554)=2553.3 <= 2340*1.1=2574.0 (balanced by rel)")
    }

    @Test func seedRebalanceDrivenThroughTheHTTPStartEndpoint() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        let credentials = cluster.configuration.credentials
        try await cluster.serving { () async throws in
            let names = cluster.nodes.map(\.name)
            // The operator posts to nodes[0] of a Running EmqxEnterprise with its bootstrap user.
            let started = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v4/load_rebalance/\(names[0])/start",
                credentials: credentials,
                body: operatorStartBody(nodes: names)
            )
            #expect(started.status == 200)
            #expect(started.object["code"] as? Int == 0)

            // During wait_health_check donors fail the availability check; the recipient passes it.
            for index in 0..<3 {
                let check = try await SimHTTP.send(cluster.url(index), "/api/v4/load_rebalance/availability_check")
                #expect(check.status == 503)
            }
            #expect(try await SimHTTP.send(cluster.url(3), "/api/v4/load_rebalance/availability_check").status == 200)

            let during = try await SimHTTP.send(
                cluster.url(1),
                "/api/v4/load_rebalance/global_status",
                credentials: credentials
            )
            let rebalances = try #require(during.object["rebalances"] as? [[String: Any]])
            #expect(rebalances.count == 1)
            #expect(rebalances.first?["state"] as? String == "wait_health_check")
            #expect(rebalances.first?["coordinator_node"] as? String == names[0])
            #expect(rebalances.first?["donors"] as? [String] == Array(names.prefix(3)))
            #expect(rebalances.first?["recipients"] as? [String] == [names[3]])

            cluster.advance(by: .seconds(15))
            let evicting = try await SimHTTP.send(
                cluster.url(2),
                "/api/v4/load_rebalance/global_status",
                credentials: credentials
            )
            let state = (evicting.object["rebalances"] as? [[String: Any]])?.first
            #expect(state?["state"] as? String == "evicting_conns")
            #expect(state?["connection_eviction_rate"] as? Int == 10)

            cluster.advance(by: .seconds(200))
            let done = try await SimHTTP.send(
                cluster.url(3),
                "/api/v4/load_rebalance/global_status",
                credentials: credentials
            )
            #expect((done.object["rebalances"] as? [Any])?.isEmpty == true)

            // The figures as any client of the cluster sees them.
            let nodes = try await SimHTTP.send(cluster.url(0), "/api/v4/nodes", credentials: credentials)
            let data = try #require(nodes.object["data"] as? [[String: Any]])
            let live = Dictionary(
                uniqueKeysWithValues: data.map { ($0["node"] as? String ?? "", $0["live_connections"] as? Int ?? -1) }
            )
            #expect(names.map { live[$0] } == [2553, 2553, 2554, 2340])
            #expect(data.reduce(0) { $0 + ($1["connections"] as? Int ?? 0) } == 10_000)
            for index in 0..<4 {
                #expect(
                    try await SimHTTP.send(cluster.url(index), "/api/v4/load_rebalance/availability_check").status
                        == 200
                )
            }
        }
        #expect(cluster.model.finishedRebalances.last?.connectionEvictionRounds == 78)
    }

    @Test func sameSeedSameRunDifferentPolicyStillBalances() throws {
        for policy in [LoadBalancerPolicy.roundRobin, .leastConnections] {
            var model = EMQXClusterModel(configuration: .seedScenario(loadBalancer: policy))
            try model.startRebalance(coordinator: model.nodes[0].name, options: seedOptions())
            model.advance(by: .seconds(300))
            #expect(model.nodes.map(\.liveConnections) == [2553, 2553, 2554, 2340], "policy \(policy)")
        }
    }
}
