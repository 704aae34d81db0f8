import AutorebalancerCore
import Foundation
import ServiceLifecycle
import TestSupport
import Testing

@testable import Kubernetes

/// Two electors on one Lease of the in-memory API (which answers as the API server: 409 on a stale update), time
/// driven by hand (`tick()` is one retry period).
struct LeaderElectorTests {
    static func elector(
        _ api: InMemoryKubernetesAPI,
        _ identity: String,
        _ time: ManualClock
    ) -> LeaderElector<ManualClock> {
        LeaderElector(
            api: api,
            configuration: .init(namespace: "emqx", identity: identity),
            clock: time,
            now: time.dateProvider,
            logger: CapturedLogs().logger()
        )
    }

    @Test func exactlyOneLeaderAndTakeoverAfterExpiryOrRelease() async throws {
        let time = ManualClock()
        let api = InMemoryKubernetesAPI(now: time.dateProvider)
        let a = Self.elector(api, "agent-a", time)
        let b = Self.elector(api, "agent-b", time)
        for _ in 0..<5 {
            await a.tick()
            await b.tick()
            #expect(a.isLeader != b.isLeader)
            time.advance(by: .seconds(2))
        }
        #expect(a.isLeader)
        #expect(api.storedLease(namespace: "emqx", name: "emqx-autorebalancer")?.spec?.holderIdentity == "agent-a")

        // a is killed: it stops renewing. b waits a full lease duration of silence, then takes over.
        var waited = 0.0
        while !b.isLeader && waited < 30 {
            time.advance(by: .seconds(2))
            waited += 2
            await b.tick()
        }
        #expect(b.isLeader)
        // 15 s of silence after a's last renewal (which came 2 s before the loop began).
        #expect(waited >= 12 && waited <= 16)
        #expect(!a.isLeader)  // lapsed by time even without a tick

        // a comes back (still thinking it led): its next cycle reports the loss.
        let action = await a.tick()
        #expect(action == .lost(reason: "the Lease is now held by agent-b"))

        // b shuts down gracefully: the Lease is released and a takes over at once.
        await b.release()
        #expect(!b.isLeader)
        await a.tick()
        #expect(a.isLeader)
    }

    @Test func losingTheLeaseEndsRunWithAnError() async throws {
        let time = ManualClock()
        let api = InMemoryKubernetesAPI(now: time.dateProvider)
        let a = Self.elector(api, "agent-a", time)
        await a.tick()
        #expect(a.isLeader)
        // Someone else takes the Lease (e.g. after a long pause of ours).
        api.modifyLease(namespace: "emqx", name: "emqx-autorebalancer") { $0.spec?.holderIdentity = "agent-z" }
        let action = await a.tick()
        #expect(action == .lost(reason: "the Lease is now held by agent-z"))
        #expect(!a.isLeader)
    }
}

/// The elector as a Service: leads, reports the change, and releases the Lease on graceful shutdown.
struct LeaderElectorServiceTests {
    @Test func runLeadsAndReleasesOnGracefulShutdown() async throws {
        let time = ManualClock()
        let api = InMemoryKubernetesAPI(now: time.dateProvider)
        let elector = LeaderElector(
            api: api,
            configuration: .init(namespace: "emqx", identity: "agent-a", retryPeriod: .milliseconds(20)),
            clock: time,
            now: time.dateProvider,
            logger: CapturedLogs().logger()
        )
        let group = ServiceGroup(services: [elector], gracefulShutdownSignals: [], logger: CapturedLogs().logger())
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var changes = elector.leadershipChanges.makeAsyncIterator()
            #expect(await changes.next() == true)
            #expect(elector.isLeader)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(!elector.isLeader)
        let lease = api.storedLease(namespace: "emqx", name: "emqx-autorebalancer")
        #expect(lease?.spec?.holderIdentity == nil)
        #expect(lease?.spec?.leaseDurationSeconds == 1)
    }
}
