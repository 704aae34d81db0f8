import AutorebalancerCore
import Foundation
import Logging
import Simulation
import TestSupport
import Testing

@testable import Kubernetes

/// Leader election never waits behind other traffic: its Lease calls have a connection pool of their own.
struct LeaseUnderLoadTests {
    @Test(.timeLimit(.minutes(3)))
    func theLeaseIsRenewedWhileEveryRequestConnectionIsHeld() async throws {
        let api = SimulatedKubernetesAPI(logger: Logger(label: "simulated-api"))
        try await api.withRunning { api in
            let client = try HTTPKubernetesClient(
                configuration: .init(
                    server: try await api.baseURL().absoluteString,
                    namespace: "emqx",
                    tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken),
                    requestTimeout: .seconds(600)
                ),
                logger: CapturedLogs().logger()
            )
            let time = ManualClock()
            let elector = LeaderElector(
                api: client,
                configuration: .init(namespace: "emqx", identity: "agent-a"),
                clock: ContinuousClock(),
                now: time.dateProvider,
                logger: CapturedLogs().logger()
            )
            guard case .create = await elector.tick() else {
                Issue.record("expected to create the Lease")
                return
            }
            #expect(elector.isLeader)

            // Reads that the server never answers take every connection the other requests may use, and more
            // wait for one.
            api.injectFault(.hold, times: nil, resource: "rebalances")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<24 {
                    group.addTask { _ = try? await client.rebalances(namespace: "emqx", labelSelector: nil) }
                }
                while api.heldRequests < 8 { try await Task.sleep(for: .milliseconds(20)) }

                // Meanwhile the Lease is renewed every retry period, well within its renew deadline.
                for _ in 0..<5 {
                    time.advance(by: .seconds(2))
                    guard case .renew = await elector.tick() else {
                        Issue.record("the Lease was not renewed while the reads were held")
                        break
                    }
                    #expect(elector.isLeader)
                }
                #expect(api.heldRequests >= 8, "the reads were held the whole time")
                api.clearFaults()
                api.releaseHeldRequests()
                try await group.waitForAll()
            }
            let lease = try #require(api.lease(namespace: "emqx", name: "emqx-autorebalancer"))
            #expect(lease.spec?.holderIdentity == "agent-a")
            #expect(lease.spec?.renewTime == KubernetesTime.formatMicro(time.date))
            try await client.shutdown()
        }
    }
}
