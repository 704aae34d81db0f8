import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Simulation
import Testing

/// The live load_rebalance client against the simulated EMQX nodes: the crash windows and refusals the `emqxAPI`
/// actuator must survive, as EMQX produces them.
@Suite struct EMQXRebalanceAPISimulationTests {
    static func cluster(_ counts: [Int], scopes: Set<String>? = nil) -> SimulatedEMQXCluster {
        SimulatedEMQXCluster(
            configuration: SimulatedEMQXConfiguration(
                name: "emqx",
                namespace: "mqtt",
                kind: .emqx,
                nodes: counts.map { SimulatedNodeSpec(liveConnections: $0) },
                seed: 7,
                credentials: EMQXAPICredentials(key: "agent", secret: "agent-secret", scopes: scopes)
            )
        )
    }

    static func client(
        _ cluster: SimulatedEMQXCluster,
        nodes: [Int] = [0],
        secret: String = "agent-secret"
    ) throws -> HTTPEMQXRebalanceAPI {
        let urls = try nodes.map { try #require(cluster.endpoint(of: cluster.nodes[$0].name)).absoluteString }
        return HTTPEMQXRebalanceAPI(
            httpClient: .shared,
            endpoint: .init(baseURLs: urls, authorization: HTTPBasic.header(username: "agent", password: secret))
        )
    }

    static func serving<T>(_ cluster: SimulatedEMQXCluster, _ body: () async throws -> T) async throws -> T {
        try await cluster.start()
        do {
            let result = try await body()
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    @Test(arguments: [NodeFaults.LostAnswer.internalError, .dropConnection])
    func aLostStartAnswerIsUnknownAndGlobalStatusShowsTheRebalance(lost: NodeFaults.LostAnswer) async throws {
        let cluster = Self.cluster([3000, 3000, 0])
        try await Self.serving(cluster) {
            let names = cluster.nodes.map(\.name)
            cluster.setFaults(NodeFaults(lostStartAnswer: lost), of: names[0])
            let api = try Self.client(cluster)
            var failure: LoadRebalance.Failure?
            do { try await api.start(coordinator: names[0], .init(nodes: names, connEvictRate: 10)) } catch {
                failure = error as? LoadRebalance.Failure
            }
            #expect(failure?.provesNothingStarted == false)
            cluster.setFaults(.none, of: names[0])
            let status = try await api.globalStatus()
            #expect(status.rebalance(coordinatedBy: names[0])?.donors == [names[0], names[1]])
            // A second start would be refused: EMQX runs one per coordinator.
            do {
                try await api.start(coordinator: names[0], .init(nodes: [names[2]], connEvictRate: 10))
                Issue.record("a second start was accepted")
            } catch let error as LoadRebalance.Failure {
                #expect(error.reasonClass == "already-started")
            }
            #expect(cluster.model.rebalances.count == 1)
        }
    }

    @Test func aCoordinatorThatDisappearsAbortsAndGlobalStatusEmpties() async throws {
        let cluster = Self.cluster([3000, 3000, 0, 0])
        try await Self.serving(cluster) {
            let names = cluster.nodes.map(\.name)
            let api = try Self.client(cluster)
            try await api.start(coordinator: names[0], .init(nodes: names, connEvictRate: 10, waitHealthCheck: 0))
            cluster.advance(by: .seconds(2))
            try cluster.apply(.stop(node: names[0]))
            // Connecting while the node's server is still shutting down would race its shutdown.
            try await cluster.waitUntilServing()
            // Asked on a node still serving: a stopped node's port may meanwhile belong to another test's server.
            let status = try await Self.client(cluster, nodes: [2]).globalStatus()
            #expect(status.isIdle)
            #expect(cluster.model.finishedRebalances.last?.ending == .aborted)
            let members = try await Self.client(cluster, nodes: [2]).nodes()
            #expect(members.first { $0.node == names[0] }?.isRunning == false)
        }
    }

    @Test func balancedClusterIsNothingToBalance() async throws {
        let cluster = Self.cluster([1000, 1000, 990])
        try await Self.serving(cluster) {
            let names = cluster.nodes.map(\.name)
            do {
                try await Self.client(cluster).start(coordinator: names[0], .init(nodes: names, connEvictRate: 10))
                Issue.record("started on a balanced cluster")
            } catch let error as LoadRebalance.Failure {
                #expect(error.reasonClass == "nothing-to-balance")
                #expect(error.provesNothingStarted)
            }
        }
    }

    @Test func aKeyWithoutTheScopeIsForbiddenAndAWrongSecretUnauthorized() async throws {
        let cluster = Self.cluster([3000, 0], scopes: ["monitoring"])
        try await Self.serving(cluster) {
            do {
                _ = try await Self.client(cluster).globalStatus()
                Issue.record("answered without the scope")
            } catch let error as LoadRebalance.Failure {
                #expect(error.reasonClass == "forbidden")
                #expect(error.description.contains("cluster_operations"))
            }
            do {
                _ = try await Self.client(cluster, secret: "not-it").nodes()
                Issue.record("answered a wrong secret")
            } catch let error as LoadRebalance.Failure {
                #expect(error.reasonClass == "unauthorized")
                #expect(!error.description.contains("not-it"))
            }
            #expect(cluster.model.rebalances.isEmpty)
        }
    }
}
