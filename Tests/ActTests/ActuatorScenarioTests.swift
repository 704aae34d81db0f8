import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import Simulation
import Synchronization
import TestSupport
import Testing

@testable import Act

/// End-to-end behaviour of the actuator and leader election against a Kubernetes API on loopback.
struct ActuatorScenarioTests {
    static let namespace = "default"

    /// The simulated API server on the scenario's clock, with the EMQX object in place. It serves core/v1 Events
    /// only, so the Events the scenarios read are the aggregated (counted) kind.
    static func server(_ time: ManualClock) throws -> SimulatedKubernetesAPI {
        let server = SimulatedKubernetesAPI(
            configuration: .init(now: time.dateProvider),
            logger: Logger(label: "scenario-api")
        )
        server.stopServing(groupVersion: "events.k8s.io/v1")
        if case .emqx(let resource) = Fixtures.object() {
            try server.putObject(.emqxes, namespace: namespace, resource)
        }
        return server
    }

    static func object(_ server: SimulatedKubernetesAPI) -> ClusterObject {
        .emqx(try! server.object(.emqxes, namespace: namespace, name: "emqx-ee")!.decode(EMQXResource.self))
    }

    /// The operator picks a Rebalance up / finishes it.
    static func operatorSets(
        _ server: SimulatedKubernetesAPI,
        _ name: String,
        _ phase: RebalancePhase,
        message: String? = nil,
        at time: Date
    ) {
        guard var rebalance = server.rebalance(namespace: namespace, name: name) else { return }
        rebalance.status = Fixtures.status(phase, message: message, finished: time)
        try! server.putObject(.rebalances, namespace: namespace, rebalance)
    }

    static func ours(_ server: SimulatedKubernetesAPI) -> [Rebalance] { server.rebalances(namespace: namespace) }

    static func events(_ server: SimulatedKubernetesAPI) -> [KubernetesEvent] { server.events(namespace: namespace) }

    /// The cluster as a cycle observes it: the EMQX object and every Rebalance of the namespace.
    static func observed(_ server: SimulatedKubernetesAPI) -> ObservedCluster {
        ObservedCluster(reference: Fixtures.cluster, object: object(server), rebalances: ours(server))
    }

    @Test func twoAgentsOneLeaseExactlyOneRebalance() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = try Self.server(time)
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
                if cycle == 1 {
                    Self.operatorSets(server, "emqx-ee-scaleout-20261120t102200", .processing, at: time.date)
                }
                time.advance(by: .seconds(2))
            }
            #expect(results.filter(\.created).count == 1)
            #expect(
                results.contains {
                    $0.result == .notMade(.notLeader(wouldCreate: "Rebalance default/emqx-ee-scaleout-20261120t102200"))
                }
            )
        }
        #expect(Self.ours(server).map { $0.metadata.name } == ["emqx-ee-scaleout-20261120t102200"])
        let events = Self.events(server)
        #expect(events.filter { $0.reason == "RebalanceCreated" }.count == 1)
        #expect(events.first?.involvedObject.name == "emqx-ee")
    }

    @Test func leaderKilledMidRebalanceFollowerTakesOverWithoutDuplicate() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = try Self.server(time)
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
                let result = await b.actuator.act(
                    Fixtures.decision(at: time.date),
                    on: Self.observed(server),
                    at: time.date
                )
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
            let reports = await b.actuator.follow(
                Self.observed(server),
                inputs: .init(now: time.date, clusterReady: true, counts: Fixtures.counts([2553, 2553, 2554, 2340]))
            )
            #expect(
                reports.contains { if case .record(_, .balanced, _, _) = $0.action { $0.performed } else { false } },
                "\(reports)"
            )
        }
        let all = Self.ours(server)
        #expect(all.count == 1)
        #expect(all.first?.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
        #expect(all.first?.spec.rebalanceStrategy.connEvictRate == 10)  // spec untouched by the outcome patch
        #expect(Self.events(server).contains { $0.reason == "RebalanceCompleted" })
    }

    @Test func restartedAgentRebuildsHistoryAndCreatesNoDuplicate() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = try Self.server(time)
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
            let fresh = await second.actuator.act(
                Fixtures.decision(at: time.date),
                on: Self.observed(server),
                at: time.date
            )
            #expect(
                fresh.result
                    == .notMade(
                        .blocked(
                            "Rebalance emqx-ee-scaleout-20261120t102200 (created by the agent) was created and is not yet picked up by the operator"
                        )
                    )
            )
            let same = await second.actuator.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
            #expect(same.result == .confirmed(name: "emqx-ee-scaleout-20261120t102200") && same.alreadyExisted)
        }
        #expect(Self.ours(server).count == 1)
    }

    @Test(arguments: [
        APIFault.storeThenInternalError,
        .storeThenHold,  // never answers: only the client's timeout ends the attempt
        .storeThenDropConnection,
        .tooManyRequests(retryAfterSeconds: 0),
        .status(503, reason: "ServiceUnavailable"),
    ])
    func flakyAPIDuringCreateNeitherDuplicatesNorCrashes(fault: APIFault) async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = try Self.server(time)
        server.injectFault(fault, verb: "create", resource: "rebalances")
        let logs = CapturedLogs()
        let timeout: Duration = fault == .storeThenHold ? .seconds(2) : .seconds(30)
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
        let server = try Self.server(time)
        let logs = CapturedLogs()
        try await server.withAgents { url, agents in
            let agent = try agents.make(url: url, identity: "agent-a", time: time, logs: logs)
            await agent.elector.tick()
            server.injectFault(.status(409, reason: "Conflict"), verb: "update", resource: "leases")
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
        let server = try Self.server(time)
        server.deny(verb: "create", resource: "rebalances")
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
        let server = try Self.server(time)
        let logs = CapturedLogs()
        // EMQX itself, asked over its REST API; its rebalance is started and stopped by hand (its time stands still).
        let emqx = SimulatedEMQXCluster(
            configuration: SimulatedEMQXConfiguration(
                name: "emqx-ee",
                namespace: Self.namespace,
                kind: .emqx,
                nodes: [6000, 6000, 6000, 100].map { SimulatedNodeSpec(liveConnections: $0) },
                seed: 3,
                credentials: EMQXAPICredentials(key: "key", secret: "secret")
            )
        )
        try await emqx.start()
        let coordinator = try #require(emqx.nodes.first?.name)
        let probe = CountingStatusProbe(
            HTTPEMQXRebalanceStatusProbe(
                httpClient: .shared,
                endpoints: [
                    Fixtures.cluster: .init(
                        baseURL: try #require(emqx.endpoint(of: coordinator)).absoluteString,
                        username: "key",
                        password: "secret"
                    )
                ]
            )
        )
        do {
            try await server.withAgents { url, agents in
                let agent = try agents.make(url: url, identity: "agent-a", time: time, logs: logs, probe: probe)
                await agent.elector.tick()
                _ = await agent.actuator.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
                try emqx.withModel { try $0.startRebalance(coordinator: coordinator, options: RebalanceOptions()) }
                Self.operatorSets(server, "emqx-ee-scaleout-20261120t102200", .processing, at: time.date)
                time.advance(by: .seconds(40))
                Self.operatorSets(
                    server,
                    "emqx-ee-scaleout-20261120t102200",
                    .failed,
                    message: "EMQX emqx-ee is not ready",
                    at: time.date
                )

                for _ in 0..<5 {
                    time.advance(by: .seconds(2))
                    await agent.elector.tick()
                    let reports = await agent.actuator.follow(
                        Self.observed(server),
                        inputs: .init(
                            now: time.date,
                            clusterReady: false,
                            counts: Fixtures.counts([3000, 3000, 3000, 1000])
                        )
                    )
                    #expect(reports.map(\.action) == [.emqxStillRebalancing("emqx-ee-scaleout-20261120t102200")])
                    #expect(Self.observed(server).blocker?.name == "emqx-ee-scaleout-20261120t102200")
                    let result = await agent.actuator.act(
                        Fixtures.decision(at: time.date),
                        on: Self.observed(server),
                        at: time.date
                    )
                    guard case .notMade(.blocked) = result.result else {
                        Issue.record("expected blocked, got \(result)")
                        break
                    }
                }
                // EMQX finishes, 50 s after the Failed time. The settle time (30 s) counts from when the agent sees it
                // stopped, not from the Failed time: no judgement before then.
                try emqx.withModel { try $0.stopRebalance(coordinator: coordinator) }
                let balanced = Fixtures.counts([2553, 2553, 2554, 2340])
                let stoppedAt = time.date
                let seen = await agent.actuator.follow(
                    Self.observed(server),
                    inputs: .init(now: time.date, clusterReady: false, counts: balanced)
                )
                #expect(seen.map(\.action) == [.markStopped("emqx-ee-scaleout-20261120t102200", at: stoppedAt)])
                #expect(seen.first?.performed == true)
                var judgedAt: Date?
                for _ in 0..<20 where judgedAt == nil {
                    time.advance(by: .seconds(2))
                    await agent.elector.tick()
                    let reports = await agent.actuator.follow(
                        Self.observed(server),
                        inputs: .init(now: time.date, clusterReady: true, counts: balanced)
                    )
                    if reports.contains(where: {
                        if case .record(_, .balanced, _, _) = $0.action { $0.performed } else { false }
                    }) {
                        judgedAt = time.date
                    } else {
                        #expect(
                            reports.map(\.action) == [
                                .settling("emqx-ee-scaleout-20261120t102200", until: stoppedAt.addingTimeInterval(30))
                            ]
                        )
                    }
                }
                #expect(judgedAt == stoppedAt.addingTimeInterval(30))
            }
        } catch {
            await emqx.stop()
            throw error
        }
        await emqx.stop()
        let all = Self.ours(server)
        #expect(all.count == 1)
        #expect(all.first?.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
        #expect(probe.asked >= 5, "EMQX was asked while the Rebalance said Failed")
    }

    /// An ordinary failure is recorded, retried as `-r2` after the backoff (not while someone else's Rebalance runs),
    /// and old judged ones are garbage-collected.
    @Test func failedRebalanceIsRetriedAfterBackoffAndOldOnesAreDeleted() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = try Self.server(time)
        let logs = CapturedLogs()
        let lifecycle = RebalanceLifecycle(
            configuration: .init(settleTime: .seconds(10), retryBackoff: .seconds(20), keepFinished: 1)
        )
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
            Self.operatorSets(
                server,
                "emqx-ee-scaleout-20261120t102200",
                .failed,
                message: "Failed to start rebalance: already_started",
                at: time.date
            )
            var reports = await agent.actuator.follow(
                Self.observed(server),
                inputs: .init(now: time.date, clusterReady: true, counts: nil)
            )
            #expect(
                reports.map(\.action) == [
                    .record(
                        "emqx-ee-scaleout-20261120t102200",
                        outcome: .failed,
                        detail: "Failed to start rebalance: already_started",
                        retriesExhausted: false
                    )
                ]
            )
            // Someone starts a Rebalance by hand: the retry waits for it.
            try server.putObject(
                .rebalances,
                namespace: Self.namespace,
                Fixtures.foreign("manual", phase: .processing, created: time.date)
            )
            await tick(30)
            reports = await agent.actuator.follow(
                Self.observed(server),
                inputs: .init(now: time.date, clusterReady: true, counts: nil)
            )
            #expect(reports.contains { if case .retryLater = $0.action { true } else { false } })
            server.removeObject(.rebalances, namespace: Self.namespace, name: "manual")
            reports = await agent.actuator.follow(
                Self.observed(server),
                inputs: .init(now: time.date, clusterReady: true, counts: nil)
            )
            #expect(reports.map(\.action) == [.retry(failed: "emqx-ee-scaleout-20261120t102200", attempt: 2)])
            #expect(reports.first?.performed == true)
            // The retry completes and is judged; on the next cycle the older judged one is deleted (keep 1).
            Self.operatorSets(server, "emqx-ee-scaleout-20261120t102200-r2", .completed, at: time.date)
            await tick(12)
            reports = await agent.actuator.follow(
                Self.observed(server),
                inputs: .init(now: time.date, clusterReady: true, counts: Fixtures.counts([2553, 2553, 2554, 2340]))
            )
            #expect(
                reports.contains { if case .record(_, .balanced, _, _) = $0.action { $0.performed } else { false } }
            )
            await tick(2)
            reports = await agent.actuator.follow(
                Self.observed(server),
                inputs: .init(now: time.date, clusterReady: true, counts: Fixtures.counts([2553, 2553, 2554, 2340]))
            )
            #expect(reports.contains { $0.action == .delete("emqx-ee-scaleout-20261120t102200") && $0.performed })
        }
        let left = Self.ours(server)
        #expect(left.map { $0.metadata.name } == ["emqx-ee-scaleout-20261120t102200-r2"])
        #expect(left.first?.metadata.annotations?[RebalanceMetadata.attemptKey] == "2")
        #expect(left.first?.metadata.annotations?[RebalanceMetadata.originKey] == "emqx-ee-scaleout-20261120t102200")
        #expect(left.first?.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
        let reasons = Self.events(server).compactMap(\.reason)
        #expect(Set(reasons) == ["RebalanceCreated", "RebalanceFailed", "RebalanceCompleted"])
    }

    @Test func dryRunWritesNothing() async throws {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let server = try Self.server(time)
        let logs = CapturedLogs()
        let dryRun = DryRunActuator(logger: logs.logger())
        let result = await dryRun.act(Fixtures.decision(), on: Self.observed(server), at: time.date)
        #expect(result.result == .notMade(.dryRun(wouldCreate: "Rebalance default/emqx-ee-scaleout-20261120t102200")))
        #expect(result.object?.name == "emqx-ee-scaleout-20261120t102200")
        #expect(dryRun.planned.count == 1)
        let follow = await dryRun.follow(
            Self.observed(server),
            inputs: .init(now: time.date, clusterReady: true, counts: nil)
        )
        #expect(follow.isEmpty)
        #expect(Self.ours(server).isEmpty)
        #expect(server.requestLog.isEmpty, "a dry run reads nothing itself and writes nothing: \(server.requestLog)")
    }
}

/// A status probe that counts how often it was asked (what EMQX answers is the wrapped probe's).
final class CountingStatusProbe: EMQXRebalanceStatusProbe {
    let probe: any EMQXRebalanceStatusProbe
    private let count = Mutex(0)

    init(_ probe: any EMQXRebalanceStatusProbe) { self.probe = probe }

    var asked: Int { count.withLock { $0 } }

    func isRebalancing(_ cluster: ClusterReference) async throws -> Bool {
        count.withLock { $0 += 1 }
        return try await probe.isRebalancing(cluster)
    }
}
