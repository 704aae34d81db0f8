import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
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
    init(url: String, identity: String, time: ManualClock, logs: CapturedLogs, probe: (any EMQXRebalanceStatusProbe)? = nil,
         lifecycle: RebalanceLifecycle = RebalanceLifecycle(configuration: .init(settleTime: .seconds(30))),
         requestTimeout: Duration = .seconds(30)) throws {
        client = try HTTPKubernetesClient(
            configuration: .init(server: url, namespace: "default", requestTimeout: requestTimeout,
                                 retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50))),
            logger: logs.logger(identity)
        )
        let elector = LeaderElector(
            api: client, configuration: .init(namespace: "default", identity: identity), clock: ContinuousClock(),
            now: time.dateProvider, logger: logs.logger(identity)
        )
        self.elector = elector
        events = EventRecorder(api: client, canWrite: { elector.isLeader }, instance: identity, logger: logs.logger(identity))
        actuator = KubernetesActuator(
            api: client, lifecycle: lifecycle, events: events, probe: probe, canWrite: { elector.isLeader }, logger: logs.logger(identity)
        )
    }

    func shutdown() async { try? await client.shutdown() }
}

