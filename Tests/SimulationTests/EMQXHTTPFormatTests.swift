import AutorebalancerCore
import Foundation
import Testing

@testable import Simulation

@Suite struct EMQXHTTPFormatTests {
    @Test func emqx5NodeModeHasTypeThenEmptyHelpAndNoLabels() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([1200, 800, 0]))
        try await cluster.serving { () async throws in
            let answer = try await SimHTTP.send(cluster.url(1), "/api/v5/prometheus/stats")
            #expect(answer.status == 200)
            #expect(answer.contentType?.hasPrefix("text/plain") == true)
            let lines = answer.body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines[0] == "# TYPE emqx_connections_count gauge")
            #expect(lines[1] == "# HELP emqx_connections_count ")
            #expect(lines.contains("emqx_live_connections_count 800"))
            #expect(lines.contains("emqx_sessions_count 800"))
            #expect(lines.contains("emqx_cluster_nodes_running 3"))
            #expect(!lines.contains { $0.hasPrefix("emqx_live_connections_count{") })
            #expect(answer.body.hasSuffix("\n\n"))
            // Replicant-only mria family: header, no samples, on a core node.
            #expect(lines.contains("# TYPE emqx_mria_lag gauge"))
            #expect(!lines.contains { $0.hasPrefix("emqx_mria_lag") })
        }
    }

    @Test func emqx5ClusterModesLabelAndSumLikeEMQX() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([1200, 800, 0]))
        try await cluster.serving { () async throws in
            let names = cluster.nodes.map(\.name)
            let unaggregated = try await SimHTTP.send(
                cluster.url(0),
                "/api/v5/prometheus/stats?mode=all_nodes_unaggregated"
            ).body
            for (name, live) in zip(names, [1200, 800, 0]) {
                #expect(unaggregated.contains("emqx_live_connections_count{node=\"\(name)\"} \(live)\n"))
                #expect(unaggregated.contains("emqx_vm_cpu_use{node=\"\(name)\"}"))
            }
            #expect(unaggregated.contains("emqx_client_disconnected_reason{node=\"\(names[0])\",listener_type=\"tcp\""))
            #expect(unaggregated.contains("emqx_cluster_sessions_count 2000\n"))
            #expect(unaggregated.contains("emqx_mria_replicants{shard=\"emqx_common_shard\",node=\"\(names[0])\"} 0\n"))
            let aggregated = try await SimHTTP.send(
                cluster.url(2),
                "/api/v5/prometheus/stats?mode=all_nodes_aggregated"
            ).body
            #expect(aggregated.contains("emqx_live_connections_count 2000\n"))
            #expect(aggregated.contains("emqx_cluster_nodes_running{node=\"\(names[1])\"} 3\n"))
            let bad = try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats?mode=cluster")
            #expect(bad.status == 400)
        }
    }

    @Test func stoppedNodesVanishFromClusterModes() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([100, 100, 100]))
        try await cluster.serving { () async throws in
            let names = cluster.nodes.map(\.name)
            try cluster.apply(.stop(node: names[2]))
            try await cluster.waitUntilServing()
            let text = try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats?mode=all_nodes_unaggregated")
                .body
            #expect(!text.contains(names[2]))
            #expect(text.contains("emqx_cluster_nodes_stopped{node=\"\(names[0])\"} 1\n"))
        }
    }

    @Test func emqx44TextIsTypeOnlyAndUnlabelledAndJSONByDefault() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        try await cluster.serving { () async throws in
            let text = try await SimHTTP.send(cluster.url(2), "/api/v4/emqx_prometheus?type=prometheus").body
            #expect(!text.contains("# HELP"))
            #expect(text.contains("# TYPE emqx_live_connections_count gauge\nemqx_live_connections_count 3334\n"))
            #expect(text.contains("emqx_connections_count 3334\n"))
            #expect(text.contains("# TYPE erlang_vm_statistics_wallclock_time_milliseconds counter\n"))
            #expect(text.contains("emqx_session_takeovered"))
            #expect(!text.split(separator: "\n").contains { $0.hasPrefix("emqx_") && $0.contains("{") })
            let json = try await SimHTTP.send(cluster.url(2), "/api/v4/emqx_prometheus")
            #expect(json.contentType?.hasPrefix("application/json") == true)
            #expect((json.object["stats"] as? [String: Any])?["emqx_live_connections_count"] as? Int == 3334)
        }
    }

    @Test func emqx5NodesAPIShapes() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([1200, 800, 0]))
        let credentials = cluster.configuration.credentials
        try await cluster.serving { () async throws in
            cluster.advance(by: .seconds(2))
            try cluster.apply(.stop(node: cluster.nodes[2].name))
            let answer = try await SimHTTP.send(cluster.url(0), "/api/v5/nodes", credentials: credentials)
            #expect(answer.status == 200)
            let nodes = answer.array
            #expect(nodes.count == 3)
            let first = try #require(nodes.first)
            #expect(first["node"] as? String == cluster.nodes[0].name)
            #expect(first["node_status"] as? String == "running")
            #expect(first["role"] as? String == "core")
            #expect(first["edition"] as? String == "Enterprise")
            #expect(first["live_connections"] as? Int == 1200)
            #expect(first["connections"] as? Int == 1200)
            #expect(first["uptime"] as? Int == (3 * 86_400 + 2) * 1000)
            #expect(first["version"] as? String == "5.8.9")
            let stopped = try #require(nodes.last)
            #expect(stopped.keys.sorted() == ["node", "node_status", "role"])
            #expect(stopped["node_status"] as? String == "stopped")
        }
    }

    @Test func emqx44NodesAPIShapes() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        try await cluster.serving { () async throws in
            cluster.advance(by: .seconds(75))
            let answer = try await SimHTTP.send(
                cluster.url(3),
                "/api/v4/nodes",
                credentials: cluster.configuration.credentials
            )
            #expect(answer.object["code"] as? Int == 0)
            let data = try #require(answer.object["data"] as? [[String: Any]])
            #expect(data.count == 4)
            #expect(data[3]["node_status"] as? String == "Running")
            #expect(data[3]["uptime"] as? String == "1 minutes, 15 seconds")
            #expect(data[0]["load1"] as? String != nil)
        }
    }

    @Test func authIsRequiredWhereEMQXRequiresIt() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([100, 0]))
        try await cluster.serving { () async throws in
            let url = cluster.url(0)
            let name = cluster.nodes[0].name
            #expect(try await SimHTTP.send(url, "/api/v5/nodes").status == 401)
            let wrong = EMQXAPICredentials(key: "intruder", secret: "guess")
            let denied = try await SimHTTP.send(url, "/api/v5/nodes", credentials: wrong)
            #expect(denied.status == 401)
            #expect(denied.object["code"] as? String == "BAD_API_KEY_OR_SECRET")
            #expect(try await SimHTTP.send(url, "/api/v5/load_rebalance/status").status == 401)
            #expect(try await SimHTTP.send(url, "/api/v5/load_rebalance/global_status").status == 401)
            #expect(
                try await SimHTTP.send(.POST, url, "/api/v5/load_rebalance/\(name)/start", body: "{}").status == 401
            )
            #expect(try await SimHTTP.send(.POST, url, "/api/v5/load_rebalance/\(name)/stop").status == 401)
            #expect(cluster.model.rebalances.isEmpty)
            // Open by default (EMQX 5.x before 6.3).
            #expect(try await SimHTTP.send(url, "/api/v5/prometheus/stats").status == 200)
            #expect(try await SimHTTP.send(url, "/api/v5/load_rebalance/availability_check").status == 200)
        }
    }

    @Test func statsAuthCanBeRequiredAsInEMQX63() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([100, 0], statsRequireAuth: true))
        try await cluster.serving { () async throws in
            #expect(try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats").status == 401)
            #expect(
                try await SimHTTP.send(
                    cluster.url(0),
                    "/api/v5/prometheus/stats",
                    credentials: cluster.configuration.credentials
                ).status == 200
            )
        }
    }

    @Test func unknownCoordinatorIsNotFound() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([100, 0]))
        try await cluster.serving { () async throws in
            let answer = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v5/load_rebalance/emqx@10.9.9.9/start",
                credentials: cluster.configuration.credentials,
                body: "{}"
            )
            #expect(answer.status == 404)
            #expect(answer.object["code"] as? String == "NOT_FOUND")
        }
    }
}
