import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import Simulation

/// A clock whose sleeps return at once after moving its time to the deadline: a driver on it runs as fast as the
/// machine allows, deterministically.
final class SteppingClock: Clock, Sendable {
    typealias Instant = SimulationClock.Instant
    private let current = Mutex(Instant(offset: .zero))
    var now: Instant { current.withLock { $0 } }
    var minimumResolution: Duration { .milliseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        current.withLock { $0 = max($0, deadline) }
        await Task.yield()
    }
}

@Suite struct EMQXDriverTests {
    @Test func driverTicksTheClusterOncePerSimulatedSecond() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        try cluster.withModel { model throws(RebalanceRequestError) in
            try model.startRebalance(coordinator: model.nodes[0].name, options: seedOptions())
        }
        let clock = SteppingClock()
        let driver = EMQXClusterDriver(cluster: cluster, clock: clock)
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await driver.run() }
            while cluster.now < .seconds(150) { await Task.yield() }
            group.cancelAll()
        }
        #expect(cluster.now == clock.now.offset || cluster.now + .seconds(1) == clock.now.offset)
        #expect(cluster.nodes.map(\.liveConnections) == [2553, 2553, 2554, 2340])
    }

    @Test func clusterRunsAsAServiceAndShutsDownGracefully() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [cluster], logger: Logger(label: "test"))
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await cluster.waitUntilServing()
            #expect(cluster.endpoints.count == 4)
            let answer = try await SimHTTP.send(cluster.url(0), "/api/v4/load_rebalance/availability_check")
            #expect(answer.status == 200)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        await #expect(throws: (any Error).self) {
            _ = try await SimHTTP.send(
                cluster.url(0),
                "/api/v4/load_rebalance/availability_check",
                timeout: .milliseconds(300)
            )
        }
    }
}
