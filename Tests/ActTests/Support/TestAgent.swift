import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Simulation
import Synchronization
import TestSupport

@testable import Act

/// One agent process as the scenario tests need it: its own API client, leader elector and actuator (gated by the
/// elector), all on the shared manual time.
final class TestAgent: Sendable {
    let client: HTTPKubernetesClient
    let elector: LeaderElector<ContinuousClock>
    let actuator: KubernetesActuator
    let events: EventRecorder

    /// `requestTimeout` is generous by default: an answered request is always answered within it on a loaded machine.
    init(
        url: String,
        identity: String,
        time: ManualClock,
        logs: CapturedLogs,
        probe: (any EMQXRebalanceStatusProbe)? = nil,
        lifecycle: RebalanceLifecycle = RebalanceLifecycle(configuration: .init(settleTime: .seconds(30))),
        requestTimeout: Duration = .seconds(30)
    ) throws {
        client = try HTTPKubernetesClient(
            configuration: .init(
                server: url,
                namespace: "default",
                tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken),
                requestTimeout: requestTimeout,
                retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50))
            ),
            logger: logs.logger(identity)
        )
        let elector = LeaderElector(
            api: client,
            configuration: .init(namespace: "default", identity: identity),
            clock: ContinuousClock(),
            now: time.dateProvider,
            logger: logs.logger(identity)
        )
        self.elector = elector
        events = EventRecorder(
            api: client,
            canWrite: { elector.isLeader },
            instance: identity,
            logger: logs.logger(identity)
        )
        actuator = KubernetesActuator(
            api: client,
            lifecycle: lifecycle,
            events: events,
            probe: probe,
            canWrite: { elector.isLeader },
            logger: logs.logger(identity)
        )
    }

    func shutdown() async { try? await client.shutdown() }
}

/// The agents of one scenario: each is shut down when the scenario ends, on every path (a `return`, a thrown error,
/// a failed `#require`). An HTTP client dropped without `shutdown()` traps in its deinit, which ends the whole test
/// run, not only the failing test.
final class TestAgents: Sendable {
    private let made = Mutex<[TestAgent]>([])

    func make(
        url: String,
        identity: String,
        time: ManualClock,
        logs: CapturedLogs,
        probe: (any EMQXRebalanceStatusProbe)? = nil,
        lifecycle: RebalanceLifecycle = RebalanceLifecycle(configuration: .init(settleTime: .seconds(30))),
        requestTimeout: Duration = .seconds(30)
    ) throws -> TestAgent {
        let agent = try TestAgent(
            url: url,
            identity: identity,
            time: time,
            logs: logs,
            probe: probe,
            lifecycle: lifecycle,
            requestTimeout: requestTimeout
        )
        made.withLock { $0.append(agent) }
        return agent
    }

    /// Shuts down every agent made (one already shut down is skipped by its client).
    func shutdown() async {
        for agent in made.withLock({ $0 }) { await agent.shutdown() }
    }
}

extension SimulatedKubernetesAPI {
    /// `withRunning`, with the scenario's agents shut down before the server stops, whatever the body does.
    func withAgents<T: Sendable>(_ body: @Sendable (String, TestAgents) async throws -> T) async throws -> T {
        try await withRunning { api in
            let url = try await api.baseURL().absoluteString
            let agents = TestAgents()
            do {
                let result = try await body(url, agents)
                await agents.shutdown()
                return result
            } catch {
                await agents.shutdown()
                throw error
            }
        }
    }
}
