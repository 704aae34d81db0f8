import AutorebalancerCore
import Foundation
import Testing

@testable import Simulation

@Suite struct EMQXEventTests {
    @Test func scaleOutAddsEmptyNodesWithTheNextOrdinal() throws {
        var model = EMQXClusterModel(configuration: .seedScenario())
        try model.apply(.scaleOut(count: 2))
        #expect(model.nodes.count == 6)
        #expect(model.nodes[4].name == "emqx-ee@emqx-ee-4.emqx-ee-headless.default.svc.cluster.local")
        #expect(model.nodes[5].podName == "emqx-ee-5")
        #expect(model.nodes[4].liveConnections == 0)
        #expect(model.nodes[4].uptime(at: model.now) == .zero)
    }

    @Test func replicantsAreNamedByIPAndEMQX5CoresByStatefulSet() throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([10, 10]))
        try model.apply(.scaleOut(count: 2, role: .replicant))
        let core = model.nodes[0].name
        #expect(core.hasPrefix("emqx@emqx-core-"))
        #expect(core.hasSuffix("-0.emqx-headless.mqtt.svc.cluster.local"))
        let replicant = model.nodes[2]
        #expect(replicant.role == .replicant)
        #expect(replicant.name == "emqx@\(replicant.podIP)")
        #expect(replicant.podIP.hasPrefix("10.244."))
        #expect(model.nodes[2].podIP != model.nodes[3].podIP)
    }

    @Test func restartDropsToZeroResetsCountersAndUptimeAndKeepsClients() throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([1000, 1000, 1000]))
        model.advance(by: .seconds(30))
        let before = model.nodes[1]
        #expect(before.counters.clientConnected > 1000)
        #expect(before.uptime(at: model.now)! > .seconds(86_400))
        try model.apply(.restart(node: before.name))
        let after = model.nodes[1]
        #expect(after.liveConnections == 0)
        #expect(after.counters == SimulatedNodeCounters())
        #expect(after.uptime(at: model.now) == .zero)
        #expect(model.nodes[0].liveConnections + model.nodes[2].liveConnections == 3000)
        #expect(model.totalClients == 3000)
        model.advance(by: .seconds(5))
        #expect(model.nodes[1].uptime(at: model.now) == .seconds(5))
    }

    @Test func restartWithDowntimeStopsTheNodeUntilItComesBack() throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([100, 100]))
        try model.apply(.restart(node: model.nodes[0].name, downtime: .seconds(20)))
        #expect(model.nodes[0].status == .stopped)
        model.advance(by: .seconds(19))
        #expect(model.nodes[0].status == .stopped)
        model.advance(by: .seconds(1))
        #expect(model.nodes[0].status == .running)
        #expect(model.nodes[0].uptime(at: model.now) == .zero)
    }

    @Test func stopAndStartAndScaleIn() throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([100, 100, 100]))
        try model.apply(.stop(node: model.nodes[2].name))
        #expect(model.nodes[2].status == .stopped)
        #expect(model.nodes[0].liveConnections + model.nodes[1].liveConnections == 300)
        try model.apply(.start(node: model.nodes[2].name))
        #expect(model.nodes[2].isRunning && model.nodes[2].liveConnections == 0)
        try model.apply(.scaleIn(count: 1))
        #expect(model.nodes.count == 2)
        #expect(model.totalClients == 300)
        #expect(throws: EMQXScenarioError.self) { try model.apply(.scaleIn(count: 5)) }
        #expect(throws: EMQXScenarioError.unknownNode("emqx@gone")) { try model.apply(.restart(node: "emqx@gone")) }
    }

    @Test func everyoneLeavesPendingWhenNoNodeServesAndReturnsLater() throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([50]))
        try model.apply(.restart(node: model.nodes[0].name, downtime: .seconds(3)))
        #expect(model.pendingClients == 50)
        #expect(model.totalClients == 50)
        model.advance(by: .seconds(4))
        #expect(model.pendingClients == 0)
        #expect(model.nodes[0].liveConnections == 50)
    }

    @Test(arguments: [LoadBalancerPolicy.roundRobin, .leastConnections])
    func loadBalancerSpreadsNewClients(policy: LoadBalancerPolicy) throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([100, 0, 40], loadBalancer: policy))
        try model.apply(.connect(clients: 90))
        switch policy {
        case .roundRobin: #expect(model.nodes.map(\.liveConnections) == [130, 30, 70])
        case .leastConnections: #expect(model.nodes.map(\.liveConnections) == [100, 65, 65])
        }
    }

    @Test func organicSkewShiftsClientsTowardsOneNodeSlowly() throws {
        var model = EMQXClusterModel(configuration: emqx5Configuration([1000, 1000, 1000]))
        try model.apply(.organicSkew(node: model.nodes[0].name, clientsPerSecond: 10, duration: .seconds(60)))
        model.advance(by: .seconds(30))
        #expect(model.nodes[0].liveConnections == 1300)
        model.advance(by: .seconds(100))
        #expect(model.nodes[0].liveConnections == 1600)
        #expect(model.totalClients == 3000)
    }

    @Test func churnIsDeterministicForASeed() throws {
        func run(seed: UInt64) throws -> [Int] {
            var model = EMQXClusterModel(configuration: emqx5Configuration([1000, 1000, 1000], seed: seed))
            try model.apply(
                .churn(
                    clientsPerSecond: 50,
                    duration: .seconds(30),
                    persistentFraction: 0.2,
                    sessionExpiry: .seconds(10)
                )
            )
            model.advance(by: .seconds(20))
            return model.nodes.map(\.sessions) + model.nodes.map(\.liveConnections)
        }
        #expect(try run(seed: 3) == run(seed: 3))
        #expect(try run(seed: 3) != run(seed: 4))
        var model = EMQXClusterModel(configuration: emqx5Configuration([1000, 1000, 1000], seed: 3))
        try model.apply(
            .churn(clientsPerSecond: 50, duration: .seconds(30), persistentFraction: 0.5, sessionExpiry: .seconds(10))
        )
        model.advance(by: .seconds(5))
        #expect(model.nodes.reduce(0) { $0 + $1.disconnectedSessions } > 0)
        #expect(model.totalClients == 3000)
        model.advance(by: .seconds(60))
        #expect(model.nodes.reduce(0) { $0 + $1.disconnectedSessions } == 0)
    }

    @Test func emqx44UptimeText() {
        #expect(EMQXHTTPAPI.uptimeText(.seconds(14)) == "14 seconds")
        #expect(EMQXHTTPAPI.uptimeText(.seconds(134)) == "2 minutes, 14 seconds")
        #expect(EMQXHTTPAPI.uptimeText(.seconds(3600)) == "1 hours, 0 minutes, 0 seconds")
        #expect(EMQXHTTPAPI.uptimeText(.seconds(3 * 86_400 + 3600 + 134)) == "3 days, 1 hours, 2 minutes, 14 seconds")
    }
}
