import AutorebalancerCore
import Foundation
import Testing

@testable import Simulation

@Suite struct EMQXRebalanceAlgorithmTests {
    @Test func balancedClusterAnswersNothingToBalanceOverHTTP() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([1000, 1000, 990]))
        let credentials = cluster.configuration.credentials
        try await cluster.serving { () async throws in
            let names = cluster.nodes.map(\.name)
            let answer = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v5/load_rebalance/\(names[0])/start",
                credentials: credentials,
                body: operatorStartBody(nodes: names)
            )
            #expect(answer.status == 400)
            #expect(answer.object["code"] as? String == "BAD_REQUEST")
            #expect(answer.object["message"] as? String == "error on node '\(names[0])': nothing_to_balance")
            #expect(cluster.model.rebalances.isEmpty)
        }
    }

    @Test func everyNodeAtTheAverageIsNothingToBalance() {
        var model = EMQXClusterModel(configuration: emqx5Configuration([500, 500, 500]))
        #expect(throws: RebalanceRequestError.rejected(node: model.nodes[1].name, reason: "nothing_to_balance")) {
            try model.startRebalance(coordinator: model.nodes[1].name, options: RebalanceOptions())
        }
    }

    @Test func emqx44AnswersErrorsWithHTTP200AndCode400() async throws {
        let configuration = SimulatedEMQXConfiguration(
            name: "emqx-ee",
            kind: .emqxEnterprise,
            nodes: [SimulatedNodeSpec(liveConnections: 10), SimulatedNodeSpec(liveConnections: 10)]
        )
        let cluster = SimulatedEMQXCluster(configuration: configuration)
        try await cluster.serving { () async throws in
            let name = cluster.nodes[0].name
            let answer = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v4/load_rebalance/\(name)/start",
                credentials: cluster.configuration.credentials,
                body: "{\"conn_evict_rate\":5}"
            )
            #expect(answer.status == 200)
            #expect(answer.object["code"] as? Int == 400)
            #expect(answer.object["message"] as? String == "nothing_to_balance")
        }
    }

    @Test func secondStartOnTheCoordinatorIsAlreadyStarted() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([3000, 3000, 0]))
        let credentials = cluster.configuration.credentials
        try await cluster.serving { () async throws in
            let names = cluster.nodes.map(\.name)
            let body = operatorStartBody(nodes: names)
            let first = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v5/load_rebalance/\(names[0])/start",
                credentials: credentials,
                body: body
            )
            #expect(first.status == 200)
            #expect(first.body == "{}")
            // The recipient is still available, so only the coordinator check refuses the second start.
            let second = try await SimHTTP.send(
                .POST,
                cluster.url(2),
                "/api/v5/load_rebalance/\(names[0])/start",
                credentials: credentials,
                body: operatorStartBody(nodes: [names[2]])
            )
            #expect(second.status == 400)
            #expect(second.object["message"] as? String == "error on node '\(names[0])': already_started")
            // With donors in the list, EMQX refuses them as unavailable first.
            let third = try await SimHTTP.send(
                .POST,
                cluster.url(1),
                "/api/v5/load_rebalance/\(names[1])/start",
                credentials: credentials,
                body: body
            )
            #expect(third.status == 400)
            #expect(third.object["code"] as? String == "NOT_FOUND")
            #expect(
                (third.object["message"] as? String)?.hasPrefix("Nodes unavailable: ['\(names[0])','\(names[1])']")
                    == true
            )
        }
    }

    @Test func donorsFailAvailabilityAndTheLoadBalancerSkipsThem() throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([3000, 3000, 0, 0]))
        try model.startRebalance(coordinator: model.nodes[0].name, options: seedOptions())
        #expect(model.nodes.map(\.isAvailable) == [false, false, true, true])
        // Still in wait_health_check: donors accept connections, but they left the Service.
        #expect(model.nodes[0].acceptsConnections)
        try model.apply(.connect(clients: 100))
        #expect(model.nodes.map(\.liveConnections) == [3000, 3000, 50, 50])
        model.advance(by: .seconds(10))
        #expect(model.rebalances.first?.state == .evictingConns)
        #expect(!model.nodes[0].acceptsConnections)
        // A load balancer that still lists a donor (readiness not yet propagated) gets its connection refused.
        try model.setServiceReadiness(true, of: model.nodes[0].name)
        try model.apply(.connect(clients: 10))
        #expect(model.nodes[0].liveConnections == 2990)
        #expect(model.totalClients == 6110)
    }

    @Test func evictionStopsAsSoonAsTheFormulaHolds() throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([2000, 2000, 0]))
        var options = seedOptions()
        options.connEvictRate = 50
        options.absConnThreshold = 100
        options.relConnThreshold = 1.5
        try model.startRebalance(coordinator: model.nodes[2].name, options: options)
        model.advance(by: .seconds(200))
        let outcome = try #require(model.finishedRebalances.last)
        #expect(outcome.ending == .completed)
        let donors = Double(model.nodes[0].liveConnections + model.nodes[1].liveConnections) / 2
        let recipient = Double(model.nodes[2].liveConnections)
        #expect(BalanceMath.within(donors, recipient, options.connectionThreshold))
        // One round fewer would not have been balanced: undo the last round's 50 per donor.
        #expect(!BalanceMath.within(donors + 50, recipient - 100, options.connectionThreshold))
        #expect(model.totalClients == 4000)
        #expect(model.finishedRebalances.last?.connectionEvictionRounds == 10)
    }

    @Test func restartOfAParticipantAbortsTheRebalanceOnAllNodes() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([3000, 3000, 0]))
        let credentials = cluster.configuration.credentials
        try await cluster.serving { () async throws in
            let names = cluster.nodes.map(\.name)
            let started = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v5/load_rebalance/\(names[0])/start",
                credentials: credentials,
                body: operatorStartBody(nodes: names)
            )
            #expect(started.status == 200)
            cluster.advance(by: .seconds(20))
            try cluster.apply(.restart(node: names[1]))
            let status = try await SimHTTP.send(
                cluster.url(2),
                "/api/v5/load_rebalance/global_status",
                credentials: credentials
            )
            #expect((status.object["rebalances"] as? [Any])?.isEmpty == true)
            #expect(try await SimHTTP.send(cluster.url(0), "/api/v5/load_rebalance/availability_check").status == 200)
            let local = try await SimHTTP.send(
                cluster.url(0),
                "/api/v5/load_rebalance/status",
                credentials: credentials
            )
            #expect(local.object["status"] as? String == "disabled")
        }
        #expect(cluster.model.finishedRebalances.last?.ending == .aborted)
        #expect(cluster.model.totalClients == 6000)
    }

    @Test func stopEndsTheRebalanceAndSecondStopIsNotStarted() throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([3000, 3000, 0]))
        let coordinator = model.nodes[0].name
        try model.startRebalance(coordinator: coordinator, options: seedOptions())
        model.advance(by: .seconds(12))
        try model.stopRebalance(coordinator: coordinator)
        #expect(model.nodes.allSatisfy { $0.isAvailable })
        #expect(model.finishedRebalances.last?.ending == .stopped)
        #expect(throws: RebalanceRequestError.rejected(node: coordinator, reason: "not_started")) {
            try model.stopRebalance(coordinator: coordinator)
        }
    }

    @Test func onlyConnectionsPartitionTheNodes() {
        // Sessions are far apart, but every node holds the average of live connections: no recipient, nothing to do.
        let configuration = SimulatedEMQXConfiguration(
            name: "emqx",
            kind: .emqx,
            nodes: [
                SimulatedNodeSpec(liveConnections: 1000, disconnectedSessions: 900),
                SimulatedNodeSpec(liveConnections: 1000, disconnectedSessions: 900),
                SimulatedNodeSpec(liveConnections: 1000, disconnectedSessions: 0),
            ]
        )
        var model = EMQXClusterModel(configuration: configuration)
        #expect(throws: RebalanceRequestError.rejected(node: model.nodes[0].name, reason: "nothing_to_balance")) {
            try model.startRebalance(coordinator: model.nodes[0].name, options: seedOptions())
        }
    }

    @Test func sessionPhaseMovesDisconnectedSessionsToRecipients() throws {
        let configuration = SimulatedEMQXConfiguration(
            name: "emqx",
            kind: .emqx,
            nodes: [
                SimulatedNodeSpec(liveConnections: 1100, disconnectedSessions: 1500),
                SimulatedNodeSpec(liveConnections: 1000, disconnectedSessions: 0),
            ]
        )
        var model = EMQXClusterModel(configuration: configuration)
        var options = seedOptions()
        options.waitHealthCheck = 2
        options.waitTakeover = 3
        options.sessEvictRate = 100
        try model.startRebalance(coordinator: model.nodes[1].name, options: options)
        model.advance(by: .seconds(4))
        #expect(model.rebalances.first?.state == .waitTakeover)
        model.advance(by: .seconds(1))
        #expect(model.rebalances.first?.state == .evictingSessions)
        model.advance(by: .seconds(60))
        #expect(model.finishedRebalances.last?.ending == .completed)
        let donor = Double(model.nodes[0].disconnectedSessions)
        let recipient = Double(model.nodes[1].disconnectedSessions)
        #expect(BalanceMath.within(donor, recipient, options.sessionThreshold))
        #expect(model.nodes[0].disconnectedSessions + model.nodes[1].disconnectedSessions == 1500)
        #expect(model.finishedRebalances.last?.sessionEvictionRounds ?? 0 > 0)
    }

    @Test func evacuationEmptiesTheNodeThenProhibitsUntilStopped() async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([600, 600, 600]))
        let credentials = cluster.configuration.credentials
        try await cluster.serving { () async throws in
            let names = cluster.nodes.map(\.name)
            let body =
                "{\"conn_evict_rate\":100,\"sess_evict_rate\":100,\"wait_health_check\":\"5s\",\"wait_takeover\":5}"
            let started = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v5/load_rebalance/\(names[2])/evacuation/start",
                credentials: credentials,
                body: body
            )
            #expect(started.status == 200)
            #expect(try await SimHTTP.send(cluster.url(2), "/api/v5/load_rebalance/availability_check").status == 503)
            cluster.advance(by: .seconds(30))
            let status = try await SimHTTP.send(
                cluster.url(2),
                "/api/v5/load_rebalance/status",
                credentials: credentials
            )
            #expect(status.object["process"] as? String == "evacuation")
            #expect(status.object["state"] as? String == "prohibiting")
            #expect(cluster.live(2) == 0)
            #expect(cluster.live(0) + cluster.live(1) == 1800)
            let global = try await SimHTTP.send(
                cluster.url(0),
                "/api/v5/load_rebalance/global_status",
                credentials: credentials
            )
            #expect((global.object["evacuations"] as? [[String: Any]])?.first?["node"] as? String == names[2])
            let again = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v5/load_rebalance/\(names[2])/evacuation/start",
                credentials: credentials,
                body: body
            )
            #expect(again.object["message"] as? String == "error on node '\(names[2])': already_started")
            let stopped = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v5/load_rebalance/\(names[2])/evacuation/stop",
                credentials: credentials
            )
            #expect(stopped.status == 200)
            #expect(try await SimHTTP.send(cluster.url(2), "/api/v5/load_rebalance/availability_check").status == 200)
        }
    }

    @Test func evacuationResumesAfterTheNodeRestarts() throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([900, 900, 900]))
        var options = EvacuationOptions()
        options.connEvictRate = 100
        options.waitHealthCheck = 60
        let name = model.nodes[0].name
        try model.startEvacuation(node: name, options: options)
        try model.apply(.restart(node: name))
        #expect(model.evacuation(of: name)?.state == .evictingConns)
        #expect(!model.nodes[0].isAvailable)
        #expect(!model.nodes[0].acceptsConnections)
    }

    @Test func invalidOptionsAreRejected() {
        var model = EMQXClusterModel(configuration: emqx5Configuration([3000, 0]))
        var options = RebalanceOptions()
        options.relConnThreshold = 1.0
        #expect(throws: RebalanceRequestError.badRequest("rel_conn_threshold: must be greater than 1.0")) {
            try model.startRebalance(coordinator: model.nodes[0].name, options: options)
        }
        options = RebalanceOptions()
        options.nodes = ["emqx@nowhere"]
        #expect(throws: RebalanceRequestError.invalidNodes(["emqx@nowhere"])) {
            try model.startRebalance(coordinator: model.nodes[0].name, options: options)
        }
    }
}

@Suite struct EMQX44LoadRebalanceTests {
    @Test func evacuationAndStatusOnTheV4API() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        let credentials = cluster.configuration.credentials
        try await cluster.serving { () async throws in
            let names = cluster.nodes.map(\.name)
            let started = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v4/load_rebalance/\(names[1])/evacuation/start",
                credentials: credentials,
                body: "{\"conn_evict_rate\":500,\"sess_evict_rate\":500,\"wait_takeover\":5}"
            )
            #expect(started.object["code"] as? Int == 0)
            #expect(try await SimHTTP.send(cluster.url(1), "/api/v4/load_rebalance/availability_check").status == 503)
            let status = try await SimHTTP.send(
                cluster.url(1),
                "/api/v4/load_rebalance/status",
                credentials: credentials
            )
            #expect(status.object["status"] as? String == "enabled")
            #expect(status.object["process"] as? String == "evacuation")
            #expect(status.object["state"] as? String == "waiting_health_check")
            let unknown = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v4/load_rebalance/\(names[0])/start",
                credentials: credentials,
                body: "{\"conn_evict_rate\":5,\"bogus\":1}"
            )
            #expect(unknown.object["code"] as? Int == 400)
            #expect((unknown.object["message"] as? String)?.hasPrefix("Unknown rebalance param") == true)
            cluster.advance(by: .seconds(120))
            #expect(cluster.live(1) == 0)
            #expect(cluster.model.totalClients == 10_000)
            let stopped = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v4/load_rebalance/\(names[1])/evacuation/stop",
                credentials: credentials
            )
            #expect(stopped.object["code"] as? Int == 0)
            let again = try await SimHTTP.send(
                .POST,
                cluster.url(0),
                "/api/v4/load_rebalance/\(names[1])/evacuation/stop",
                credentials: credentials
            )
            #expect(again.object["message"] as? String == "not_started")
        }
    }

    @Test func observationsMirrorTheNodes() throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        try cluster.apply(.stop(node: cluster.nodes[2].name))
        let observations = cluster.observations
        #expect(observations.map(\.name) == cluster.nodes.map(\.name))
        #expect(observations[2].running == false)
        #expect(observations[2].liveConnections == nil)
        #expect(observations[0].liveConnections.map { $0 >= 3333 } == true)
        #expect(observations.compactMap(\.liveConnections).reduce(0, +) == 10_000)
    }
}
