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

/// The `emqxAPI` actuator end to end over real loopback HTTP: the simulated Kubernetes API (admitting records against
/// the shipped CRD) and simulated EMQX 5 nodes (running EMQX's rebalance algorithm), on shared manual time.
@Suite struct EMQXAPIActuatorTests {
    static let cluster = ClusterReference(namespace: "emqx", name: "emqx", kind: .emqx)
    static let secret = "agent-secret"

    /// Everything one scenario needs, started and stopped around `body`.
    struct World: Sendable {
        let api: SimulatedKubernetesAPI
        let emqx: SimulatedEMQXCluster
        let time: ManualClock
        let actuator: EMQXAPIActuator
        let client: HTTPKubernetesClient
        let logs: CapturedLogs
        let emqxAPI: HTTPEMQXRebalanceAPI

        var nodes: [String] { emqx.nodes.map(\.name) }

        /// Advances EMQX's and the API's time together.
        func advance(_ seconds: Int) {
            for _ in 0..<seconds {
                emqx.advance(by: .seconds(1))
                time.advance(by: .seconds(1))
            }
        }

        func target(closedGate: String? = nil) -> EMQXAPIActuator.Target {
            let nodes = emqx.nodes
            let now = emqx.now
            var members: [String: EMQXRebalanceLifecycle.Member] = [:]
            for node in nodes {
                let uptime = node.isRunning ? (now - node.startedAt) : .zero
                members[node.name] = .init(
                    running: node.isRunning,
                    startedAt: time.date.addingTimeInterval(-uptime.seconds)
                )
            }
            let counts = nodes.filter(\.isRunning).map {
                BalanceMath.NodeCounts(
                    name: $0.name,
                    liveConnections: Double($0.liveConnections),
                    sessions: Double($0.sessions)
                )
            }
            // The nodes serving now: a stopped node's port may meanwhile belong to another test's server.
            let urls = nodes.filter(\.isRunning).compactMap { emqx.endpoint(of: $0.name)?.absoluteString }
            let emqxAPI = HTTPEMQXRebalanceAPI(
                httpClient: .shared,
                endpoint: .init(baseURLs: urls, authorization: emqxAPI.endpoint.authorization)
            )
            return .init(
                cluster: EMQXAPIActuatorTests.cluster,
                emqx: emqxAPI,
                rebalancedNodes: nodes.map(\.name),
                members: members,
                closedGate: closedGate,
                counts: counts
            )
        }

        /// One follow cycle: observe once, then follow.
        @discardableResult
        func cycle(closedGate: String? = nil) async throws -> [EMQXAPIActuator.Step] {
            let target = target(closedGate: closedGate)
            return await actuator.follow(target, observation: try await actuator.observe(target), at: time.date)
        }

        func record(_ name: String) -> EMQXRebalance? {
            try? api.object(.emqxRebalances, namespace: "emqx", name: name)?.decode(EMQXRebalance.self)
        }

        var records: [EMQXRebalance] {
            api.objects(.emqxRebalances, namespace: "emqx").compactMap { try? $0.decode(EMQXRebalance.self) }
        }

        /// Every start EMQX received that took effect (running or finished).
        var startsEMQXRan: Int { emqx.model.rebalances.count + emqx.model.finishedRebalances.count }
    }

    static func withWorld<T: Sendable>(
        counts: [Int] = [3333, 3333, 3334, 0],
        key: String = secret,
        leader: Bool = true,
        _ body: @Sendable (World) async throws -> T
    ) async throws -> T {
        let time = ManualClock(startDate: Fixtures.decisionTime)
        let emqx = SimulatedEMQXCluster(
            configuration: SimulatedEMQXConfiguration(
                name: "emqx",
                namespace: "emqx",
                kind: .emqx,
                nodes: counts.map { SimulatedNodeSpec(liveConnections: $0, disconnectedSessions: 0) },
                seed: 1,
                credentials: EMQXAPICredentials(key: "agent", secret: secret)
            )
        )
        let api = SimulatedKubernetesAPI(
            configuration: .init(now: time.dateProvider),
            logger: Logger(label: "api", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        return try await api.withRunning { api in
            try await emqx.start()
            let logs = CapturedLogs()
            let client = try HTTPKubernetesClient(
                configuration: .init(
                    server: try await api.baseURL().absoluteString,
                    namespace: "emqx",
                    tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken)
                ),
                logger: logs.logger("client")
            )
            let urls = emqx.nodes.compactMap { emqx.endpoint(of: $0.name)?.absoluteString }
            let emqxAPI = HTTPEMQXRebalanceAPI(
                httpClient: .shared,
                endpoint: .init(baseURLs: urls, authorization: HTTPBasic.header(username: "agent", password: key))
            )
            let actuator = EMQXAPIActuator(
                store: client,
                lifecycle: .init(configuration: .init(cycle: .seconds(10), settleTime: .seconds(30))),
                events: EventRecorder(
                    api: client,
                    canWrite: { leader },
                    instance: "test",
                    logger: logs.logger("events")
                ),
                canWrite: { leader },
                logger: logs.logger("actuator")
            )
            let world = World(
                api: api,
                emqx: emqx,
                time: time,
                actuator: actuator,
                client: client,
                logs: logs,
                emqxAPI: emqxAPI
            )
            do {
                let result = try await body(world)
                await emqx.stop()
                try? await client.shutdown()
                return result
            } catch {
                await emqx.stop()
                try? await client.shutdown()
                throw error
            }
        }
    }

    static var seedStrategy: RebalanceStrategy {
        RebalanceStrategy(
            connEvictRate: 10,
            sessEvictRate: 10,
            waitTakeover: 10,
            waitHealthCheck: 10,
            absConnThreshold: 100,
            absSessThreshold: 100,
            relConnThreshold: "1.1",
            relSessThreshold: "1.1"
        )
    }

    static func decision(at time: Date = Fixtures.decisionTime) -> DecisionRecord {
        var decision = Fixtures.decision(at: time)
        decision.cluster = "emqx/emqx"
        decision.strategy = seedStrategy
        return decision
    }

    func start(_ world: World) async throws -> EMQXAPIActuator.StartResult {
        let target = world.target()
        return await world.actuator.start(
            Self.decision(),
            target: target,
            observation: try await world.actuator.observe(target),
            at: world.time.date
        )
    }

    // MARK: The seed case through EMQX's API

    @Test func seedCaseRunsThroughEMQXAndIsJudgedBalanced() async throws {
        try await Self.withWorld { world in
            guard case .confirmed(let record) = try await start(world) else {
                Issue.record("not confirmed")
                return
            }
            let name = try #require(record.metadata.name)
            #expect(name == "emqx-scaleout-20261120t102200")
            let stored = try #require(world.record(name))
            #expect(stored.status?.phaseValue == .running)
            #expect(stored.metadata.labels?[RebalanceMetadata.ruleKey] == "scale-out")
            #expect(stored.metadata.annotations?[RebalanceMetadata.decisionKey] != nil)
            #expect(stored.metadata.finalizers == [EMQXRebalance.finalizer])
            #expect(stored.spec.nodes == world.nodes)

            try await world.cycle()
            #expect(world.record(name)?.status?.donors?.count == 3)  // EMQX's own view, copied
            var seconds = 0
            while !world.emqx.model.rebalances.isEmpty, seconds < 900 {
                world.advance(5)
                seconds += 5
                try await world.cycle()
            }
            try await world.cycle()
            let finished = try #require(world.record(name))
            #expect(finished.status?.phaseValue == .completed)
            #expect(finished.metadata.finalizers?.isEmpty ?? true)
            world.advance(31)
            try await world.cycle()
            #expect(world.emqx.nodes.map(\.liveConnections) == [2553, 2553, 2554, 2340])
            #expect(world.record(name)?.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
            #expect(world.startsEMQXRan == 1)
            let reasons = Set(world.api.events(namespace: "emqx").compactMap(\.reason))
            #expect(reasons == ["RebalanceCreated", "RebalanceCompleted"])
        }
    }

    // MARK: Crash windows

    @Test(arguments: [NodeFaults.LostAnswer.internalError, .dropConnection])
    func aLostStartAnswerIsConfirmedFromGlobalStatusAndNeverStartedAgain(lost: NodeFaults.LostAnswer) async throws {
        try await Self.withWorld { world in
            world.emqx.setFaults(NodeFaults(lostStartAnswer: lost), of: world.nodes[0])
            guard case .unconfirmed(let record, _) = try await start(world) else {
                Issue.record("not unconfirmed")
                return
            }
            world.emqx.setFaults(.none, of: world.nodes[0])
            let name = try #require(record.metadata.name)
            #expect(world.record(name)?.status?.phaseValue == .starting)
            // The same decision again (a retry, another replica): the record exists, EMQX is not asked again.
            guard case .blocked = try await start(world) else {
                Issue.record("a second start was not blocked")
                return
            }
            world.advance(12)
            try await world.cycle()
            #expect(world.record(name)?.status?.phaseValue == .running)
            #expect(world.startsEMQXRan == 1)
        }
    }

    @Test func onlyAConfirmedStartIsConfirmedForTheRuleStateMachine() async throws {
        try await Self.withWorld { world in
            world.emqx.setFaults(NodeFaults(lostStartAnswer: .internalError), of: world.nodes[0])
            let lost = try await start(world)
            guard case .failed(let failure) = lost.actionResult else {
                Issue.record("a lost answer counted as \(lost.actionResult)")
                return
            }
            #expect(failure.kind == .unavailable)
            // The retry of a new decision is held back by the record at intent: never a second start.
            let target = world.target()
            let retry = await world.actuator.start(
                Self.decision(at: Fixtures.decisionTime.addingTimeInterval(120)),
                target: target,
                observation: try await world.actuator.observe(target),
                at: world.time.date
            )
            guard case .notMade(.blocked) = retry.actionResult else {
                Issue.record("the retry was \(retry.actionResult)")
                return
            }
            #expect(world.startsEMQXRan == 1)
        }
        try await Self.withWorld { world in
            let result = try await start(world)
            #expect(result.actionResult == .confirmed(name: "emqx-scaleout-20261120t102200"))
        }
    }

    @Test func anIntentEMQXNeverSawEndsFailedAfterOneCycle() async throws {
        try await Self.withWorld { world in
            // The agent died between writing the record and calling EMQX.
            let record = EMQXAPIActuator.record(
                for: Self.decision(),
                cluster: Self.cluster,
                nodes: world.nodes,
                strategy: Self.seedStrategy,
                owner: nil
            )
            _ = try await world.client.createEMQXRebalance(record)
            try await world.cycle()
            #expect(world.record(record.metadata.name!)?.status == nil)
            world.advance(11)
            try await world.cycle()
            let failed = try #require(world.record(record.metadata.name!))
            #expect(failed.status?.phaseValue == .failed)
            #expect(failed.status?.reason?.hasPrefix("start not confirmed") == true)
            #expect(failed.metadata.finalizers?.isEmpty ?? true)
            world.advance(60)
            try await world.cycle()
            #expect(world.startsEMQXRan == 0)
        }
    }

    @Test func aCoordinatorThatDisappearsEndsFailedAndIsStillJudged() async throws {
        try await Self.withWorld { world in
            guard case .confirmed(let record) = try await start(world) else {
                Issue.record("not confirmed")
                return
            }
            world.advance(15)
            try await world.cycle()
            try world.emqx.apply(.stop(node: world.nodes[0]))
            try await world.emqx.waitUntilServing()  // never connect to a server that is still shutting down
            try await world.cycle()
            let failed = try #require(world.record(record.metadata.name!))
            #expect(failed.status?.phaseValue == .failed)
            #expect(failed.status?.reason?.contains("coordinator \(world.nodes[0])") == true)
            #expect(world.emqx.model.finishedRebalances.last?.ending == .aborted)
            world.advance(31)
            try await world.cycle()
            #expect(world.record(record.metadata.name!)?.metadata.annotations?[RebalanceMetadata.outcomeKey] != nil)
        }
    }

    // MARK: Refusals

    @Test func aBalancedClusterIsRecordedAsNothingToBalance() async throws {
        try await Self.withWorld(counts: [1000, 1000, 990, 1000]) { world in
            guard case .refused(let record?, let failure) = try await start(world) else {
                Issue.record("not refused")
                return
            }
            #expect(failure.reasonClass == "nothing-to-balance")
            let stored = try #require(world.record(record.metadata.name!))
            #expect(stored.status?.phaseValue == .failed)
            #expect(stored.metadata.annotations?[RebalanceMetadata.outcomeKey] == "nothing-to-balance")
        }
    }

    @Test func aWrongKeyIsOneClearErrorAndNoSecretIsLogged() async throws {
        try await Self.withWorld(key: "wrong-secret-value") { world in
            // global_status already refuses the key: nothing is written, EMQX is never asked to start.
            guard case .blocked(let reason) = try await start(world) else {
                Issue.record("not blocked")
                return
            }
            #expect(reason.contains("API key or secret is wrong"))
            #expect(world.records.isEmpty)
            #expect(!world.logs.all.contains { $0.contains("wrong-secret-value") || $0.contains(Self.secret) })
        }
    }

    // MARK: Manual runs

    @Test func aManualRunWaitsPendingBehindAGateThenRuns() async throws {
        try await Self.withWorld { world in
            let manual = EMQXRebalance(
                metadata: ObjectMeta(name: "by-hand", namespace: "emqx"),
                spec: .init(cluster: "emqx", strategy: Self.seedStrategy)
            )
            _ = try await world.client.createEMQXRebalance(manual)
            try await world.cycle(closedGate: "the cluster is not Ready")
            #expect(world.record("by-hand")?.status?.phaseValue == .pending)
            #expect(world.record("by-hand")?.status?.reason == "the cluster is not Ready")
            #expect(world.startsEMQXRan == 0)
            try await world.cycle()
            let running = try #require(world.record("by-hand"))
            #expect(running.status?.phaseValue == .running)
            #expect(running.metadata.finalizers == [EMQXRebalance.finalizer])
            #expect(world.startsEMQXRan == 1)
        }
    }

    @Test func aManualRunEMQXWouldRefuseFailsNamingTheField() async throws {
        try await Self.withWorld { world in
            var strategy = Self.seedStrategy
            strategy.relConnThreshold = "0.9"  // passes the schema's pattern; EMQX needs more than 1.0
            _ = try await world.client.createEMQXRebalance(
                EMQXRebalance(
                    metadata: ObjectMeta(name: "bad", namespace: "emqx"),
                    spec: .init(cluster: "emqx", strategy: strategy)
                )
            )
            try await world.cycle()
            let failed = try #require(world.record("bad"))
            #expect(failed.status?.phaseValue == .failed)
            #expect(failed.status?.reason?.contains("spec.strategy.relConnThreshold") == true)
            #expect(world.startsEMQXRan == 0)
        }
    }

    @Test func deletingARunningRecordStopsEMQX() async throws {
        try await Self.withWorld { world in
            guard case .confirmed(let record) = try await start(world) else {
                Issue.record("not confirmed")
                return
            }
            try await world.client.deleteEMQXRebalance(namespace: "emqx", name: record.metadata.name!)
            #expect(world.record(record.metadata.name!)?.metadata.deletionTimestamp != nil)  // held by our finalizer
            try await world.cycle()
            #expect(world.emqx.model.rebalances.isEmpty)
            #expect(world.emqx.model.finishedRebalances.last?.ending == .stopped)
            #expect(world.record(record.metadata.name!) == nil)
        }
    }

    @Test func aFollowerWritesNothing() async throws {
        try await Self.withWorld(leader: false) { world in
            guard case .notLeader = try await start(world) else {
                Issue.record("a follower acted")
                return
            }
            #expect(world.records.isEmpty)
            #expect(world.startsEMQXRan == 0)
        }
    }
}
