import Act
import AsyncHTTPClient
import AutorebalancerCore
import Demo
import Foundation
import InMemoryLogging
import Kubernetes
import Logging
import Observe
import Simulation
import Synchronization
import Testing

@testable import Agent

/// The loop acting through EMQX's own load_rebalance API, one `tick(at:)` at a time, against simulated EMQX 5 nodes
/// and the simulated Kubernetes API (which stores `EMQXRebalance` records against the shipped CRD), all over HTTP on
/// loopback: the real wiring (`AgentAssembly`) from a configuration as a user writes it.
@Suite struct EMQXAPILoopTests {
    static let namespace = "emqx"
    static let secret = "agent-secret"
    static let wrongSecret = "not-the-secret"
    static let environment = ["EMQX_API_SECRET": secret, "WRONG_SECRET": wrongSecret]

    /// A calendar the test moves by hand; the agent's observations and evaluations both read it.
    final class TestCalendar: Sendable {
        let state = Mutex(Date(timeIntervalSince1970: 1_795_170_120))
        var now: Date { state.withLock { $0 } }
        func advance(by seconds: TimeInterval) { state.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    /// Everything one scenario runs on.
    struct World: Sendable {
        let calendar: TestCalendar
        let emqx: SimulatedEMQXCluster
        let api: SimulatedKubernetesAPI
        let simulatedOperator: SimulatedEMQXOperator<SimulationClock>?
        let assembly: AgentAssembly<ContinuousClock>
        let logs: InMemoryLogHandler

        /// One cycle, then 5 s pass for EMQX, the operator and the agent alike.
        func tick() async throws -> ClusterCycleReport {
            let report = try #require(await assembly.loop.tick(at: calendar.now).clusters.first)
            calendar.advance(by: 5)
            emqx.advance(by: .seconds(5))
            await simulatedOperator?.reconcileOnce()
            return report
        }

        var records: [EMQXRebalance] {
            api.objects(.emqxRebalances, namespace: EMQXAPILoopTests.namespace).compactMap {
                try? $0.decode(EMQXRebalance.self)
            }
        }

        /// Starts EMQX carried out (running or finished).
        var startsEMQXRan: Int { emqx.model.rebalances.count + emqx.model.finishedRebalances.count }

        /// Every log line of the agent with its metadata, to check that no secret is ever written.
        var logLines: [String] { logs.entries.map { "\($0.level) \($0.message) \($0.metadata)" } }

        func engineState(_ reference: ClusterReference) -> ClusterEngineState? {
            assembly.loop.engineStates.withLock { states in states.first { $0.key.cluster == reference }?.value.state }
        }
    }

    /// The seed counts on an EMQX 5 cluster; the agent's API key `agent` with `secret`.
    static func emqxConfiguration(secret: String = Self.secret) -> SimulatedEMQXConfiguration {
        SimulatedEMQXConfiguration(
            name: "emqx",
            namespace: namespace,
            kind: .emqx,
            nodes: [
                SimulatedNodeSpec(liveConnections: 3333), SimulatedNodeSpec(liveConnections: 3333),
                SimulatedNodeSpec(liveConnections: 3334),
                SimulatedNodeSpec(liveConnections: 0, uptime: .zero),
            ],
            seed: 1,
            credentials: EMQXAPICredentials(key: "agent", secret: secret)
        )
    }

    /// Runs `body` on a started world and stops every server and client it started, on every path.
    /// - Parameters:
    ///   - withObject: an EMQX object (`apps.emqx.io/v2beta1`, filled in by the simulated operator) describes the
    ///     cluster; without one the entry is given as `emqx:` and the cluster is known only through EMQX's API.
    ///   - cluster: the cluster entry's settings (given the nodes' addresses).
    /// A cluster that has no EMQX object: nodes and actions through the EMQX API, with the password in `passwordVariable`.
    static func clusterWithoutObject(passwordVariable: String) -> @Sendable ([String: String]) -> ClusterSettings {
        { targets in
            ClusterSettings(
                target: .named(Self.reference),
                emqxAPI: EMQXAPISettings(
                    targets: targets,
                    http: .init(auth: .basic(username: "agent", password: .environment(passwordVariable)))
                ),
                hasObject: false
            )
        }
    }

    static func withWorld<T: Sendable>(
        withObject: Bool = true,
        policy: String = DemoPolicy.text,
        once: Bool = false,
        cluster: @escaping @Sendable ([String: String]) -> ClusterSettings,
        _ body: @Sendable (World) async throws -> T
    ) async throws -> T {
        let calendar = TestCalendar()
        let emqx = SimulatedEMQXCluster(configuration: emqxConfiguration(), logger: Logger(label: "test-emqx"))
        try await emqx.start()
        let api = SimulatedKubernetesAPI(configuration: .init(now: { calendar.now }), logger: Logger(label: "test-api"))
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let result = try await api.withRunning { api in
                try await Self.run(
                    api: api,
                    emqx: emqx,
                    calendar: calendar,
                    httpClient: httpClient,
                    withObject: withObject,
                    policy: policy,
                    once: once,
                    cluster: cluster,
                    body
                )
            }
            try? await httpClient.shutdown()
            await emqx.stop()
            return result
        } catch {
            try? await httpClient.shutdown()
            await emqx.stop()
            throw error
        }
    }

    static func run<T: Sendable>(
        api: SimulatedKubernetesAPI,
        emqx: SimulatedEMQXCluster,
        calendar: TestCalendar,
        httpClient: HTTPClient,
        withObject: Bool,
        policy: String,
        once: Bool,
        cluster: @escaping @Sendable ([String: String]) -> ClusterSettings,
        _ body: @Sendable (World) async throws -> T
    ) async throws -> T {
        var simulatedOperator: SimulatedEMQXOperator<SimulationClock>?
        if withObject {
            api.addEMQX(
                EMQXBinding(
                    kind: .emqx,
                    namespace: namespace,
                    name: "emqx",
                    endpoints: [:],
                    username: "agent",
                    password: secret
                )
            )
            api.setEMQXEndpointProvider(namespace: namespace, name: "emqx") { emqx.endpoints }
            let made = SimulatedEMQXOperator(
                api: api,
                clock: SimulationClock(speed: 1000),
                configuration: .init(rebalancePollInterval: .zero, emqxRefreshInterval: .zero),
                logger: Logger(label: "test-operator")
            )
            await made.reconcileOnce()
            simulatedOperator = made
        }
        let loaded = try #require(PolicyLoader.load(text: policy, file: "policy.yaml").policy)
        let targets = emqx.endpoints.mapValues(\.absoluteString)
        let configuration = AgentConfiguration(
            leaderElection: LeaderElectionSettings(enabled: false),
            clusters: [cluster(targets)],
            rebalances: RebalanceSettings(keepFinished: 5, settleTime: 10, stuckAfter: 600)
        )
        let client = try HTTPKubernetesClient(
            configuration: KubernetesClientConfiguration(
                server: try await api.baseURL().absoluteString,
                tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken)
            ),
            logger: Logger(label: "test-client")
        )
        let logs = InMemoryLogHandler()
        // With an EMQX object the nodes' names are pod DNS names: the scrape goes to their loopback addresses. Without
        // one, the entry's own `status` source reads /api/v5/nodes.
        let scrape: @Sendable (ClusterSettings, ClusterReference) -> [any MetricSource] = { _, _ in
            let source: any MetricSource
            do {
                source = try EMQXScrapeSource(
                    configuration: .init(targets: targets),
                    httpClient: httpClient,
                    now: { calendar.now }
                )
            } catch {
                source = FailingSource(kind: "emqx", message: "cannot build the scrape source: \(error)")
            }
            return [source]
        }
        let assembly = AgentAssembly(
            configuration: configuration,
            policies: [loaded],
            kubernetes: client,
            kubernetesNamespace: namespace,
            httpClient: httpClient,
            options: .init(once: once, hostname: "test", environment: environment),
            clock: ContinuousClock(),
            now: { calendar.now },
            logger: Logger(label: "test-agent") { _ in logs },
            sourceOverride: withObject ? scrape : nil
        )
        let world = World(
            calendar: calendar,
            emqx: emqx,
            api: api,
            simulatedOperator: simulatedOperator,
            assembly: assembly,
            logs: logs
        )
        return try await client.shuttingDown { try await body(world) }
    }

    static let reference = ClusterReference(namespace: namespace, name: "emqx", kind: .emqx)
    static let seedStrategy = RebalanceStrategy(
        connEvictRate: 10,
        sessEvictRate: 10,
        waitTakeover: 10,
        waitHealthCheck: 10,
        absConnThreshold: 100,
        absSessThreshold: 100,
        relConnThreshold: "1.1",
        relSessThreshold: "1.1"
    )

    /// The cluster entry a user writes to act through EMQX's API on a cluster with an EMQX object.
    static func forcedEMQXAPI(_ targets: [String: String]) -> ClusterSettings {
        ClusterSettings(
            target: .named(reference),
            sources: [.emqx(EMQXScrapeSettings())],
            emqxAPI: EMQXAPISettings(
                targets: targets,
                http: .init(auth: .basic(username: "agent", password: .environment("EMQX_API_SECRET")))
            ),
            actuator: .emqxAPI
        )
    }

    /// Ticks until a record of ours is judged (or `limit` cycles).
    static func runUntilJudged(_ world: World, limit: Int = 60) async throws -> [ClusterCycleReport] {
        var reports: [ClusterCycleReport] = []
        for _ in 0..<limit {
            let report = try await world.tick()
            reports.append(report)
            if report.follow.contains(where: { $0.recordedOutcome != nil }) { break }
        }
        return reports
    }

    // MARK: The seed case through EMQX's API

    @Test func seedCaseRunsThroughEMQXAndEndsBalanced() async throws {
        try await Self.withWorld(cluster: Self.forcedEMQXAPI) { world in
            let reports = try await Self.runUntilJudged(world)
            let first = try #require(reports.first)
            #expect(first.errors.isEmpty, "\(first.errors)")
            #expect(first.plan?.acting == .emqxAPI)
            #expect(first.planLine(sources: ["emqx"])?.hasSuffix("calls EMQX's load_rebalance API") == true)
            // Exactly one cycle started it; the later ones were held back by it.
            let starts = reports.filter { $0.action?.created == true }
            #expect(starts.count == 1)
            #expect(starts.first?.action?.object?.kind == "EMQXRebalance")
            #expect(
                reports.contains { report in report.evaluations.contains { $0.whyNot?.reason == .rebalanceRunning } }
            )

            #expect(world.emqx.nodes.map(\.liveConnections) == [2553, 2553, 2554, 2340])
            #expect(world.startsEMQXRan == 1)
            #expect(world.api.rebalances(namespace: Self.namespace).isEmpty, "no operator Rebalance on this path")
            let record = try #require(world.records.first)
            #expect(world.records.count == 1)
            #expect(record.status?.phaseValue == .completed)
            #expect(record.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
            #expect(record.metadata.ownerReferences?.first?.kind == "EMQX")
            #expect(record.metadata.finalizers?.isEmpty ?? true, "released once EMQX finished")
            #expect(record.spec.strategy.connEvictRate == 10)
            // The engine reads the record like a Rebalance: its outcome, and the rule that acted cools down.
            let next = try await world.tick()
            #expect(next.history?.rebalances.map(\.outcome) == [.balanced])
            #expect(next.evaluations.contains { $0.state == .coolingDown })
            // The once-report names the record.
            let rendered = OnceReport.render(TickReport(at: starts[0].at, duration: .zero, clusters: [starts[0]]))
            #expect(rendered.contains("action: created EMQXRebalance emqx/"), "\(rendered)")
            #expect(world.logLines.allSatisfy { !$0.contains(Self.secret) })
        }
    }

    // MARK: A start whose answer was lost

    @Test func lostStartAnswerIsConfirmedLaterAndNeverStartedTwice() async throws {
        try await Self.withWorld(cluster: Self.forcedEMQXAPI) { world in
            // Every node loses its start answer: whichever coordinates, EMQX starts, the agent cannot know.
            for node in world.emqx.nodes {
                world.emqx.setFaults(NodeFaults(lostStartAnswer: .internalError), of: node.name)
            }
            var reports: [ClusterCycleReport] = []
            var failedAt: Int?
            for index in 0..<30 {
                let report = try await world.tick()
                reports.append(report)
                if failedAt == nil, case .failed(let failure)? = report.action?.result {
                    #expect(failure.kind == .unavailable)
                    failedAt = index
                }
                if report.follow.contains(where: { $0.lateConfirmation != nil }) { break }
            }
            let failed = try #require(failedAt)
            let confirming = try #require(reports.last)
            let late = try #require(confirming.follow.compactMap(\.lateConfirmation).first)
            #expect(reports.count == failed + 2, "confirmed from global_status on the very next cycle")
            #expect(world.records.map(\.metadata.name) == [late.name])
            // The engine learnt it: the confirmation counts (cooldown, daily limit), and the rule that acted left its
            // create backoff for the cooldown the record started.
            let state = try #require(world.engineState(Self.reference))
            #expect(state.confirmed.map(\.name) == [late.name])
            #expect(state.rules[late.rule]?.state == .coolingDown)
            #expect(state.rules[late.rule]?.retry == nil)
            // It runs to the end and is judged; EMQX was asked to start exactly once.
            for node in world.emqx.nodes { world.emqx.setFaults(.none, of: node.name) }
            let rest = try await Self.runUntilJudged(world)
            #expect(rest.allSatisfy { $0.action == nil })
            #expect(world.startsEMQXRan == 1)
            #expect(world.records.count == 1)
            #expect(world.records.first?.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
        }
    }

    // MARK: Manual runs through the loop

    /// A person's record is carried out by the leader under the cluster gates only: the policy here is paused, so no
    /// rule acts, and no cooldown or limit applies to the manual run.
    @Test func manualRecordWaitsPendingWhileTheClusterIsNotReadyThenRuns() async throws {
        let paused = DemoPolicy.text.replacingOccurrences(
            of: "evaluationInterval: 5s",
            with: "evaluationInterval: 5s\n  paused: true"
        )
        try await Self.withWorld(policy: paused, cluster: Self.forcedEMQXAPI) { world in
            world.api.setEMQXNotReady(namespace: Self.namespace, name: "emqx", true)
            await world.simulatedOperator?.reconcileOnce()
            let manual = EMQXRebalance(
                metadata: ObjectMeta(name: "by-hand", namespace: Self.namespace),
                spec: .init(cluster: "emqx", strategy: EMQXAPILoopTests.seedStrategy)
            )
            _ = try world.api.putObject(.emqxRebalances, namespace: Self.namespace, manual)

            for _ in 0..<3 { _ = try await world.tick() }
            var record = try #require(world.records.first)
            #expect(record.status?.phaseValue == .pending)
            #expect(record.status?.reason == "cluster not Ready")
            #expect(world.startsEMQXRan == 0)

            world.api.setEMQXNotReady(namespace: Self.namespace, name: "emqx", false)
            await world.simulatedOperator?.reconcileOnce()
            var judged = false
            for _ in 0..<60 {
                let report = try await world.tick()
                #expect(report.action == nil, "the paused policy never acts")
                if report.follow.contains(where: { $0.recordedOutcome != nil }) {
                    judged = true
                    break
                }
            }
            #expect(judged)
            record = try #require(world.records.first)
            #expect(record.status?.phaseValue == .completed)
            #expect(record.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
            #expect(world.startsEMQXRan == 1)
            #expect(world.emqx.nodes.map(\.liveConnections) == [2553, 2553, 2554, 2340])
        }
    }

    // MARK: A cluster without an EMQX object

    @Test func clusterWithoutAnEMQXObjectIsReadAndActedOnThroughItsOwnAPI() async throws {
        try await Self.withWorld(
            withObject: false,
            cluster: Self.clusterWithoutObject(passwordVariable: "EMQX_API_SECRET")
        ) { world in
            let reports = try await Self.runUntilJudged(world)
            let first = try #require(reports.first)
            #expect(first.errors.isEmpty, "\(first.errors)")
            #expect(first.plan?.acting == .emqxAPI)
            #expect(
                first.planLine(sources: ["status"])?.contains("(no EMQX object: nodes from EMQX's /api/v5/nodes)")
                    == true
            )
            // Readiness, roles and counts from /api/v5/nodes, through the default `status` source.
            #expect(first.snapshot?.facts.ready == true)
            #expect(first.sources.map(\.source) == ["status"])
            #expect(first.snapshot?.completeCounts?.map(\.liveConnections) == [3333, 3333, 3334, 0])
            #expect(world.emqx.nodes.map(\.liveConnections) == [2553, 2553, 2554, 2340])
            #expect(world.startsEMQXRan == 1)
            let record = try #require(world.records.first)
            #expect(world.records.count == 1)
            #expect(record.metadata.ownerReferences == nil, "no EMQX object to own it")
            #expect(record.status?.phaseValue == .completed)
            #expect(record.metadata.annotations?[RebalanceMetadata.outcomeKey] == "balanced")
            let events = Set(world.api.events(namespace: Self.namespace).compactMap(\.reason))
                .union(world.api.eventsV1(namespace: Self.namespace).compactMap(\.reason))
            #expect(
                events.isSuperset(of: ["RebalanceCreated", "RebalanceCompleted"]),
                "Events on the record: \(events)"
            )
        }
    }

    /// A wrong key: one clear error per cycle, nothing written, nothing started, and no secret in any log line.
    @Test(arguments: ["MISSING", "WRONG_SECRET"])
    func wrongKeyIsOneClearErrorPerCycleAndNoSecretInTheLogs(variable: String) async throws {
        try await Self.withWorld(
            withObject: false,
            cluster: Self.clusterWithoutObject(passwordVariable: variable)
        ) { world in
            for _ in 0..<3 {
                let report = try await world.tick()
                // MISSING is not set: the key cannot be read and EMQX is never asked. WRONG_SECRET is refused: 401,
                // said once per cycle (the nodes are not asked again with the same key).
                let expected = variable == "MISSING" ? "the EMQX API credentials cannot be read" : "EMQX answered 401"
                #expect(report.errors.filter { $0.contains(expected) }.count == 1, "\(report.errors)")
                #expect(report.errors.allSatisfy { !$0.contains(Self.secret) && !$0.contains(Self.wrongSecret) })
                #expect(report.action == nil)
            }
            #expect(world.records.isEmpty)
            #expect(world.startsEMQXRan == 0)
            let lines = world.logLines
            #expect(
                !lines.isEmpty
                    && lines.allSatisfy { line in !line.contains(Self.secret) && !line.contains(Self.wrongSecret) }
            )
        }
    }

    // MARK: Dry run

    @Test func onceDescribesTheRecordItWouldWriteAndWritesNothing() async throws {
        try await Self.withWorld(once: true, cluster: Self.forcedEMQXAPI) { world in
            var planned: ActionReport?
            for _ in 0..<12 {
                let report = try await world.tick()
                if let action = report.action {
                    planned = action
                    break
                }
            }
            let action = try #require(planned)
            guard case .notMade(.dryRun(let wouldCreate?)) = action.result else {
                Issue.record("expected a dry run, got \(action.result)")
                return
            }
            #expect(wouldCreate.hasPrefix("EMQXRebalance emqx/emqx-"))
            #expect(world.records.isEmpty)
            #expect(world.startsEMQXRan == 0)
        }
    }
}
