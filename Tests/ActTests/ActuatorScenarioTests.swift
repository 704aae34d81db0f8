import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import TestSupport
import Testing

@testable import Act

/// End-to-end behaviour of the actuator and leader election against a Kubernetes API on loopback.
struct ActuatorScenarioTests {
    static let rebalances = "/apis/apps.emqx.io/v2beta1/namespaces/default/rebalances"
    static let emqxPath = "/apis/apps.emqx.io/v2beta1/namespaces/default/emqxes/emqx-ee"

    static func setUp(_ server: FakeKubernetesServer) {
        let object = Fixtures.object()
        if case .emqx(let resource) = object { server.put(resource, at: emqxPath) }
    }

    static func object(_ server: FakeKubernetesServer) -> ClusterObject {
        .emqx(server.get(EMQXResource.self, at: emqxPath)!)
    }

    /// The operator picks a Rebalance up / finishes it.
    static func operatorSets(_ server: FakeKubernetesServer, _ name: String, _ phase: RebalancePhase, message: String? = nil, at time: Date) {
        server.modify(Rebalance.self, at: "\(rebalances)/\(name)") {
            $0.status = Fixtures.status(phase, message: message, finished: time)
        }
    }

    static func ours(_ server: FakeKubernetesServer) -> [Rebalance] { server.list(Rebalance.self, in: rebalances) }

    /// The cluster as a cycle observes it: the EMQX object and every Rebalance of the namespace.
    static func observed(_ server: FakeKubernetesServer) -> ObservedCluster {
        ObservedCluster(reference: Fixtures.cluster, object: object(server), rebalances: ours(server))
    }

    @Test func twoAgentsOneLeaseExactlyOneRebalance() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = FakeKubernetesServer(now: time.dateProvider)
        Self.setUp(server)
        let logs = CapturedLogs()
        try await server.withAgents { url, agents in
            let a = try agents.make(url: url, identity: "agent-a", time: time, logs: logs)
            let b = try agents.make(url: url, identity: "agent-b", time: time, logs: logs)
            var results: [ActionReport] = []
            for cycle in 0..<5 {
                await a.elector.tick()
                await b.elector.tick()
                // Both evaluate the same policy on the same metrics and reach the same decision.
                let decision = Fixtures.decision(at: Fixtures.decisionTime)
                results.append(await b.actuator.act(decision, on: Self.observed(server), at: time.date))
                results.append(await a.actuator.act(decision, on: Self.observed(server), at: time.date))
                if cycle == 1 { Self.operatorSets(server, "emqx-ee-scaleout-20261120t102200", .processing, at: time.date) }
                time.advance(by: .seconds(2))
            }
            #expect(results.filter(\.created).count == 1)
            #expect(results.contains { $0.result == .notMade(.notLeader(wouldCreate: "Rebalance default/emqx-ee-scaleout-20261120t102200")) })
        }
        #expect(Self.ours(server).map { $0.metadata.name } == ["emqx-ee-scaleout-20261120t102200"])
        let events = server.list(KubernetesEvent.self, in: "/api/v1/namespaces/default/events")
        #expect(events.filter { $0.reason == "RebalanceCreated" }.count == 1)
        #expect(events.first?.involvedObject.name == "emqx-ee")
    }

    @Test func leaderKilledMidRebalanceFollowerTakesOverWithoutDuplicate() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = FakeKubernetesServer(now: time.dateProvider)
        Self.setUp(server)
        let logs = CapturedLogs()
        try await server.withAgents { url, agents in
            let a = try agents.make(url: url, identity: "agent-a", time: time, logs: logs)
            let b = try agents.make(url: url, identity: "agent-b", time: time, logs: logs)
            await a.elector.tick()
            await b.elector.tick()
            _ = await a.actuator.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
            Self.operatorSets(server, "emqx-ee-scaleout-20261120t102200", .processing, at: time.date)
            // a dies here (no more ticks). b keeps evaluating; the rule still fires with a newer decision time.
            var takeover = false
            for _ in 0..<15 {
                time.advance(by: .seconds(2))
                await b.elector.tick()
                let result = await b.actuator.act(Fixtures.decision(at: time.date), on: Self.observed(server), at: time.date)
                if b.elector.isLeader {
                    takeover = true
                    guard case .notMade(.blocked(let blocker)) = result.result else {
                        Issue.record("expected blocked while the first Rebalance is Processing, got \(result)")
                        break
                    }
                    #expect(blocker.contains("Rebalance emqx-ee-scaleout-20261120t102200 "))
                }
            }
            #expect(takeover)
            // The operator finishes; b follows it to the end and judges it from metrics after the settle time.
            Self.operatorSets(server, "emqx-ee-scaleout-20261120t102200", .completed, at: time.date)
            for _ in 0..<16 {  // the settle time passes; b keeps renewing every retry period
                time.advance(by: .seconds(2))
                await b.elector.tick()
            }
            let reports = await b.actuator.follow(Self.observed(server), inputs: .init(now: time.date, clusterReady: true, counts: Fixtures.counts([2553, 2553, 2554, 2340]))
            )
            #expect(reports.contains { if case .record(_, .balanced, _, _) = $0.action { $0.performed } else { false } }, "\(reports)")
        }
        let all = Self.ours(server)
        #expect(all.count == 1)
        #expect(all.first?.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
        #expect(all.first?.spec.rebalanceStrategy.connEvictRate == 10)  // spec untouched by the outcome patch
        #expect(server.list(KubernetesEvent.self, in: "/api/v1/namespaces/default/events").contains { $0.reason == "RebalanceCompleted" })
    }

    @Test func restartedAgentRebuildsHistoryAndCreatesNoDuplicate() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = FakeKubernetesServer(now: time.dateProvider)
        Self.setUp(server)
        let logs = CapturedLogs()
        try await server.withAgents { url, agents in
            let first = try agents.make(url: url, identity: "agent-a-1", time: time, logs: logs)
            await first.elector.tick()
            let made = await first.actuator.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
            try #require(made.created, "the first agent's create: \(made.result)")
            await first.elector.release()  // the pod is restarted (graceful)
            await first.shutdown()

            time.advance(by: .seconds(20))
            let second = try agents.make(url: url, identity: "agent-a-2", time: time, logs: logs)
            await second.elector.tick()
            #expect(second.elector.isLeader)
            let history = try #require(Self.observed(server).history)
            #expect(history.rebalances.count == 1)
            #expect(history.rebalances.first?.createdAt == Fixtures.decisionTime)  // the cooldown's anchor survives
            #expect(history.rebalances.first?.rule == "scale-out")
            #expect(history.rebalances.first?.isActive == true)
            // Not yet picked up by the operator: a fresh decision is blocked; the same decision is already done.
            let fresh = await second.actuator.act(Fixtures.decision(at: time.date), on: Self.observed(server), at: time.date)
            #expect(fresh.result == .notMade(.blocked("Rebalance emqx-ee-scaleout-20261120t102200 (created by the agent) was created and is not yet picked up by the operator")))
            let same = await second.actuator.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
            #expect(same.result == .confirmed(name: "emqx-ee-scaleout-20261120t102200") && same.alreadyExisted)
        }
        #expect(Self.ours(server).count == 1)
    }

    @Test(arguments: [
        FakeKubernetesServer.FaultKind.applyThenStatus(500),
        .applyThenDelay(.seconds(3600)),  // never answers: only the client's timeout ends the attempt
        .applyThenDrop,
        .status(429, retryAfter: "0"),
        .status(503),
    ])
    func flakyAPIDuringCreateNeitherDuplicatesNorCrashes(fault: FakeKubernetesServer.FaultKind) async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = FakeKubernetesServer(now: time.dateProvider)
        Self.setUp(server)
        server.inject("POST", "rebalances", fault)
        let logs = CapturedLogs()
        let timeout: Duration = if case .applyThenDelay = fault { .seconds(2) } else { .seconds(30) }
        try await server.withAgents { url, agents in
            let agent = try agents.make(url: url, identity: "agent-a", time: time, logs: logs, requestTimeout: timeout)
            await agent.elector.tick()
            let result = await agent.actuator.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
            #expect(result.result == .confirmed(name: "emqx-ee-scaleout-20261120t102200"), "\(result)")
        }
        #expect(Self.ours(server).count == 1)
        #expect(logs.contains("create rebalances.apps.emqx.io default/emqx-ee-scaleout-20261120t102200"))
    }

    @Test func conflictOnTheLeaseIsHarmless() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = FakeKubernetesServer(now: time.dateProvider)
        Self.setUp(server)
        let logs = CapturedLogs()
        try await server.withAgents { url, agents in
            let agent = try agents.make(url: url, identity: "agent-a", time: time, logs: logs)
            await agent.elector.tick()
            server.inject("PUT", "leases", .status(409))
            time.advance(by: .seconds(2))
            await agent.elector.tick()  // conflict: re-read next time, still leader within the renew deadline
            #expect(agent.elector.isLeader)
            time.advance(by: .seconds(2))
            await agent.elector.tick()
            #expect(agent.elector.isLeader)
        }
    }

    @Test func forbiddenCreateNamesTheMissingPermission() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = FakeKubernetesServer(now: time.dateProvider)
        Self.setUp(server)
        server.forbid("create", "rebalances")
        let logs = CapturedLogs()
        try await server.withAgents { url, agents in
            let agent = try agents.make(url: url, identity: "agent-a", time: time, logs: logs)
            await agent.elector.tick()
            let report = await agent.actuator.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
            guard case .failed(let failure) = report.result else {
                Issue.record("expected a failure, got \(report)")
                return
            }
            #expect(failure.kind == .forbidden)
            #expect(failure.message.contains("may not create rebalances.apps.emqx.io in namespace \"default\""))
        }
        #expect(Self.ours(server).isEmpty)
    }

    /// The operator marks the Rebalance `Failed: EMQX emqx-ee is not ready` while EMQX (asked over its REST API)
    /// still rebalances: no second Rebalance until EMQX is done, then the outcome is judged from metrics.
    @Test func falseNotReadyFailureCreatesNoSecondRebalance() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = FakeKubernetesServer(now: time.dateProvider)
        Self.setUp(server)
        let logs = CapturedLogs()
        try await server.withAgents { url, agents in
            let http = HTTPClient.shared
            let probe = HTTPEMQXRebalanceStatusProbe(
                httpClient: http, endpoints: [Fixtures.cluster: .init(baseURL: url, username: "key", password: "secret")]
            )
            let agent = try agents.make(url: url, identity: "agent-a", time: time, logs: logs, probe: probe)
            await agent.elector.tick()
            _ = await agent.actuator.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
            server.emqxRebalancing.withLock { $0 = true }
            Self.operatorSets(server, "emqx-ee-scaleout-20261120t102200", .processing, at: time.date)
            time.advance(by: .seconds(40))
            Self.operatorSets(server, "emqx-ee-scaleout-20261120t102200", .failed, message: "EMQX emqx-ee is not ready", at: time.date)

            for _ in 0..<5 {
                time.advance(by: .seconds(2))
                await agent.elector.tick()
                let reports = await agent.actuator.follow(Self.observed(server), inputs: .init(now: time.date, clusterReady: false, counts: Fixtures.counts([3000, 3000, 3000, 1000]))
                )
                #expect(reports.map(\.action) == [.emqxStillRebalancing("emqx-ee-scaleout-20261120t102200")])
                #expect(Self.observed(server).blocker?.name == "emqx-ee-scaleout-20261120t102200")
                let result = await agent.actuator.act(Fixtures.decision(at: time.date), on: Self.observed(server), at: time.date)
                guard case .notMade(.blocked) = result.result else {
                    Issue.record("expected blocked, got \(result)")
                    break
                }
            }
            // EMQX finishes, 50 s after the Failed time. The settle time (30 s) counts from when the agent sees it
            // stopped, not from the Failed time: no judgement before then.
            server.emqxRebalancing.withLock { $0 = false }
            let balanced = Fixtures.counts([2553, 2553, 2554, 2340])
            let stoppedAt = time.date
            let seen = await agent.actuator.follow(Self.observed(server), inputs: .init(now: time.date, clusterReady: false, counts: balanced))
            #expect(seen.map(\.action) == [.markStopped("emqx-ee-scaleout-20261120t102200", at: stoppedAt)])
            #expect(seen.first?.performed == true)
            var judgedAt: Date?
            for _ in 0..<20 where judgedAt == nil {
                time.advance(by: .seconds(2))
                await agent.elector.tick()
                let reports = await agent.actuator.follow(Self.observed(server), inputs: .init(now: time.date, clusterReady: true, counts: balanced))
                if reports.contains(where: { if case .record(_, .balanced, _, _) = $0.action { $0.performed } else { false } }) {
                    judgedAt = time.date
                } else {
                    #expect(reports.map(\.action) == [.settling("emqx-ee-scaleout-20261120t102200", until: stoppedAt.addingTimeInterval(30))])
                }
            }
            #expect(judgedAt == stoppedAt.addingTimeInterval(30))
        }
        let all = Self.ours(server)
        #expect(all.count == 1)
        #expect(all.first?.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
        #expect(server.count("GET", "global_status") >= 5)
    }

    /// An ordinary failure is recorded, retried as `-r2` after the backoff (not while someone else's Rebalance runs),
    /// and old judged ones are garbage-collected.
    @Test func failedRebalanceIsRetriedAfterBackoffAndOldOnesAreDeleted() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = FakeKubernetesServer(now: time.dateProvider)
        Self.setUp(server)
        let logs = CapturedLogs()
        let lifecycle = RebalanceLifecycle(configuration: .init(settleTime: .seconds(10), retryBackoff: .seconds(20), keepFinished: 1))
        try await server.withAgents { url, agents in
            let agent = try agents.make(url: url, identity: "agent-a", time: time, logs: logs, lifecycle: lifecycle)
            let tick = { @Sendable (seconds: Int) async in
                for _ in 0..<(seconds / 2) {
                    time.advance(by: .seconds(2))
                    await agent.elector.tick()
                }
            }
            await agent.elector.tick()
            _ = await agent.actuator.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
            Self.operatorSets(server, "emqx-ee-scaleout-20261120t102200", .failed, message: "Failed to start rebalance: already_started", at: time.date)
            var reports = await agent.actuator.follow(Self.observed(server), inputs: .init(now: time.date, clusterReady: true, counts: nil))
            #expect(reports.map(\.action) == [.record("emqx-ee-scaleout-20261120t102200", outcome: .failed, detail: "Failed to start rebalance: already_started", retriesExhausted: false)])
            // Someone starts a Rebalance by hand: the retry waits for it.
            server.put(Fixtures.foreign("manual", phase: .processing, created: time.date), at: "\(Self.rebalances)/manual")
            await tick(30)
            reports = await agent.actuator.follow(Self.observed(server), inputs: .init(now: time.date, clusterReady: true, counts: nil))
            #expect(reports.contains { if case .retryLater = $0.action { true } else { false } })
            server.remove(at: "\(Self.rebalances)/manual")
            reports = await agent.actuator.follow(Self.observed(server), inputs: .init(now: time.date, clusterReady: true, counts: nil))
            #expect(reports.map(\.action) == [.retry(failed: "emqx-ee-scaleout-20261120t102200", attempt: 2)])
            #expect(reports.first?.performed == true)
            // The retry completes and is judged; on the next cycle the older judged one is deleted (keep 1).
            Self.operatorSets(server, "emqx-ee-scaleout-20261120t102200-r2", .completed, at: time.date)
            await tick(12)
            reports = await agent.actuator.follow(Self.observed(server), inputs: .init(now: time.date, clusterReady: true, counts: Fixtures.counts([2553, 2553, 2554, 2340]))
            )
            #expect(reports.contains { if case .record(_, .balanced, _, _) = $0.action { $0.performed } else { false } })
            await tick(2)
            reports = await agent.actuator.follow(Self.observed(server), inputs: .init(now: time.date, clusterReady: true, counts: Fixtures.counts([2553, 2553, 2554, 2340]))
            )
            #expect(reports.contains { $0.action == .delete("emqx-ee-scaleout-20261120t102200") && $0.performed })
        }
        let left = Self.ours(server)
        #expect(left.map { $0.metadata.name } == ["emqx-ee-scaleout-20261120t102200-r2"])
        #expect(left.first?.metadata.annotations?[RebalanceMetadata.attemptKey] == "2")
        #expect(left.first?.metadata.annotations?[RebalanceMetadata.originKey] == "emqx-ee-scaleout-20261120t102200")
        #expect(left.first?.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
        let reasons = server.list(KubernetesEvent.self, in: "/api/v1/namespaces/default/events").compactMap(\.reason)
        #expect(Set(reasons) == ["RebalanceCreated", "RebalanceFailed", "RebalanceCompleted"])
    }

    @Test func dryRunWritesNothing() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = FakeKubernetesServer(now: time.dateProvider)
        Self.setUp(server)
        let logs = CapturedLogs()
        let dryRun = DryRunActuator(logger: logs.logger())
        let result = await dryRun.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
        #expect(result.result == .notMade(.dryRun(wouldCreate: "Rebalance default/emqx-ee-scaleout-20261120t102200")))
        #expect(result.object?.name == "emqx-ee-scaleout-20261120t102200")
        #expect(dryRun.planned.count == 1)
        let follow = await dryRun.follow(Self.observed(server), inputs: .init(now: time.date, clusterReady: true, counts: nil))
        #expect(follow.isEmpty)
        #expect(Self.ours(server).isEmpty)
        #expect(server.log.isEmpty, "a dry run reads nothing itself and writes nothing: \(server.log)")
    }
}
