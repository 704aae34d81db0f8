import Act
import Agent
import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import Observe
import ServiceLifecycle
import Simulation
import Synchronization

/// `emqx-autorebalancer demo`: a simulated EMQX cluster and a simulated Kubernetes API with the EMQX Operator on
/// loopback, and the real agent (the same loop, sources, actuator and leader election as `run`) driving them over
/// HTTP, on simulated time that runs faster than wall time.
public struct DemoRunner: Sendable {
    public struct Options: Sendable {
        public var scenario: DemoScenario
        /// Simulated seconds per wall second.
        public var speed: Double
        public var seed: UInt64
        /// The policy the agent runs (YAML text) and the name it is reported under.
        public var policyText: String
        public var policyFile: String
        /// Stop after this much simulated time at the latest (default: the scenario's).
        public var maxDuration: Duration?
        /// Time after `Completed` before the agent judges the outcome.
        public var settleTime: TimeInterval
        /// The EMQX Operator generation the simulated Kubernetes API plays (2.2, 2.3 or 3.0).
        public var operatorGeneration: OperatorGeneration

        public init(
            scenario: DemoScenario = .scaleOut,
            speed: Double = 10,
            seed: UInt64 = 1,
            policyText: String = DemoPolicy.text,
            policyFile: String = DemoPolicy.file,
            maxDuration: Duration? = nil,
            settleTime: TimeInterval = 10,
            operatorGeneration: OperatorGeneration = .v2_2
        ) {
            self.operatorGeneration = operatorGeneration
            self.scenario = scenario
            self.speed = speed
            self.seed = seed
            self.policyText = policyText
            self.policyFile = policyFile
            self.maxDuration = maxDuration
            self.settleTime = settleTime
        }
    }

    /// What the display is told, as it happens.
    public enum Progress: Sendable {
        /// Every simulated second: elapsed seconds, phase, per-node (name, live connections, sessions).
        case sample(seconds: Double, phase: String, nodes: [(name: String, connections: Int, sessions: Int)])
        /// The agent decided something.
        case decision(seconds: Double, DecisionRecord)
        /// A line of narration (scenario events, Rebalance phase changes).
        case note(seconds: Double, String)
    }

    /// A moment the chart marks: a decision (with its formula and why the other rules did not act), or a Rebalance
    /// phase change.
    public struct Marker: Sendable, Hashable {
        public var seconds: Double
        public var label: String
        /// `rebalance`, `alert` or `phase`.
        public var kind: String
        public var formula: String?
        public var whyNot: [String]
    }

    /// What the demo produced.
    public struct Result: Sendable {
        public var summary: DemoSummary
        public var timeline: [(seconds: Double, nodes: [String: Int])]
        public var markers: [Marker]
        public var startDate: Date
        public var nodeOrder: [String]
        /// `true` when the scenario's expectation was met (a rebalance judged, or none for flapping).
        public var expectationMet: Bool
        /// The longest stretch of simulated time between two of the agent's evaluations (its interval when it kept up).
        public var longestEvaluationGap: Duration
    }

    public struct DemoError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public let options: Options
    public let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// The date the simulation starts at: the scale-out happens at 10:22:00 UTC.
    public static let startDate = Date(timeIntervalSince1970: 1_795_170_115)  // 2026-11-20T10:21:55Z

    /// Waits (at most a minute of wall time: a bound for a broken environment, generous for a loaded machine) until
    /// the operator has published the initial nodes in the EMQX object's status.
    static func waitForOperatorStatus(api: SimulatedKubernetesAPI, plan: DemoScenario.Plan) async throws {
        let cluster = plan.cluster
        let type = api.resourceType(for: cluster.kind == .emqx ? .emqx : .emqxEnterprise)
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            // Whatever the generation's status shape: its node lists.
            let status = api.object(type, namespace: cluster.namespace, name: cluster.name)?["status"]
            let count = ["emqxNodes", "coreNodes", "replicantNodes"].compactMap { status?[$0]?.arrayValue?.count }
                .reduce(0, +)
            if count >= cluster.nodes.count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw DemoError(
            description:
                "the simulated operator did not publish the status of \(cluster.namespace)/\(cluster.name) within 60 s"
        )
    }

    /// Where the demo's agent reads the simulated EMQX API key's secret from (its process environment, as a value).
    static let apiSecretVariable = "EMQX_API_SECRET"

    /// Runs the scenario and returns what it produced. With `serve`, the simulated world keeps serving after the
    /// agent has stopped until `serve` returns (`demo --serve`: until a signal), and is then shut down.
    public func run(
        progress: @escaping @Sendable (Progress) -> Void,
        serve: (@Sendable (Result, DemoServedWorld) async throws -> Void)? = nil
    ) async throws -> Result {
        let loaded = PolicyLoader.load(text: options.policyText, file: options.policyFile)
        guard let policy = loaded.policy else {
            throw DemoError(
                description: "the demo policy is invalid:\n"
                    + loaded.diagnostics.map(\.description).joined(separator: "\n")
            )
        }
        let plan = options.scenario.plan(seed: options.seed, operator: options.operatorGeneration)
        let clock = SimulationClock(speed: options.speed, startDate: Self.startDate)
        let quiet = Logger(label: "simulation", factory: { _ in SwiftLogNoOpLogHandler() })

        // The simulated world: EMQX nodes, the Kubernetes API and the operator, all on loopback.
        let emqx = SimulatedEMQXCluster(configuration: plan.cluster, logger: quiet)
        // kubectl sends no bearer token over plain HTTP: on this loopback API (`demo --serve`) a request without one
        // acts as the agent's user too.
        let users = [
            SimulatedKubernetesAPI.defaultToken: SimulatedKubernetesAPI.defaultUser,
            "": SimulatedKubernetesAPI.defaultUser,
        ]
        let api = SimulatedKubernetesAPI(
            configuration: .init(tokens: users, now: { clock.date }, operatorGeneration: options.operatorGeneration),
            logger: quiet
        )
        let credentials = plan.cluster.credentials
        // With an HPA the replicas live in the spec (the scale subresource writes there); otherwise the nodes are moved
        // by the scenario itself.
        let replicants = plan.cluster.nodes.filter { $0.role == .replicant }.count
        api.addEMQX(
            EMQXBinding(
                kind: plan.cluster.kind == .emqx ? .emqx : .emqxEnterprise,
                namespace: plan.cluster.namespace,
                name: plan.cluster.name,
                endpoints: [],
                username: credentials.key,
                password: credentials.secret,
                replicas: plan.scaleOuts.isEmpty ? nil : plan.cluster.nodes.count - replicants,
                replicantReplicas: plan.scaleOuts.isEmpty ? nil : replicants
            )
        )
        api.setEMQXEndpointProvider(namespace: plan.cluster.namespace, name: plan.cluster.name) { emqx.endpoints }
        api.setEMQXPodControl(namespace: plan.cluster.namespace, name: plan.cluster.name, .cluster(emqx))
        let simulatedOperator = SimulatedEMQXOperator(api: api, clock: clock, logger: quiet)
        let recorder = DemoRecorder(now: { clock.now.offset }, firstEvent: plan.events.map(\.at).min() ?? plan.onset)
        let director = DemoDirector(
            cluster: emqx,
            api: api,
            events: plan.events,
            scaleOuts: plan.scaleOuts,
            clock: clock,
            recorder: recorder,
            progress: progress
        )
        let world = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: emqx), .init(service: EMQXClusterDriver(cluster: emqx, clock: clock)),
                    .init(service: api),
                    .init(service: simulatedOperator), .init(service: director),
                ],
                logger: quiet
            )
        )

        // The world always stops by a graceful shutdown, also when the demo fails: cancelling a NIO server can trap on
        // a connection accepted but not yet served (apple/swift-nio #3481).
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await world.run() }
            let outcome: Swift.Result<Result, any Error>
            do {
                outcome = .success(
                    try await scenario(
                        world: (emqx, api, plan, policy, clock, recorder),
                        progress: progress,
                        serve: serve
                    )
                )
            } catch {
                outcome = .failure(error)
            }
            await world.triggerGracefulShutdown()
            try? await group.next()
            return try outcome.get()
        }
    }

    /// The agent's part: waits for the world, runs the agent until the monitor ends the scenario, then (`serve`) keeps
    /// the world up for the user.
    private func scenario(
        world: (
            emqx: SimulatedEMQXCluster, api: SimulatedKubernetesAPI, plan: DemoScenario.Plan, policy: Policy,
            clock: SimulationClock, recorder: DemoRecorder
        ),
        progress: @escaping @Sendable (Progress) -> Void,
        serve: (@Sendable (Result, DemoServedWorld) async throws -> Void)?
    ) async throws -> Result {
        let (emqx, api, plan, policy, clock, recorder) = world
        let credentials = plan.cluster.credentials
        let baseURL = try await api.baseURL()
        try await emqx.waitUntilServing(timeout: .seconds(60))
        // The agent's first look must find the EMQX object's status filled in by the operator: a node list that
        // first appears after a scenario event would hide the event (a node present at first sight is no join).
        try await Self.waitForOperatorStatus(api: api, plan: plan)

        // The real agent, configured as a user would, reaching the world over HTTP.
        let reference = ClusterReference(
            namespace: plan.cluster.namespace,
            name: plan.cluster.name,
            kind: plan.cluster.kind
        )
        // Operator 3.0 has no Rebalance resource: the entry gives EMQX's API and a key, as a user does there, and
        // `actuator: auto` acts through it. (The simulated nodes' addresses stand in for the dashboard Service.)
        var settings = ClusterSettings(target: .named(reference), sources: [.emqx(EMQXScrapeSettings())])
        if options.operatorGeneration == .v3_0 {
            settings.emqxAPI = EMQXAPISettings(
                targets: emqx.endpoints.mapValues(\.absoluteString),
                http: .init(auth: .basic(username: credentials.key, password: .environment(Self.apiSecretVariable)))
            )
        }
        let configuration = AgentConfiguration(
            listen: ListenAddress(host: "127.0.0.1", port: 0),
            // Simulated time runs fast: longer Lease timings keep wall-clock hiccups from costing the Lease.
            leaderElection: LeaderElectionSettings(
                enabled: true,
                leaseNamespace: plan.cluster.namespace,
                leaseDuration: 150,
                renewDeadline: 100,
                retryPeriod: 10
            ),
            clusters: [settings],
            rebalances: RebalanceSettings(keepFinished: 5, settleTime: options.settleTime, stuckAfter: 600)
        )
        let kubernetes = try HTTPKubernetesClient(
            configuration: KubernetesClientConfiguration(
                server: baseURL.absoluteString,
                namespace: plan.cluster.namespace,
                tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken),
                origin: "simulated API \(baseURL)"
            ),
            logger: logger,
            clock: clock
        )
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let assembly = AgentAssembly(
            configuration: configuration,
            policies: [policy],
            kubernetes: kubernetes,
            kubernetesNamespace: plan.cluster.namespace,
            httpClient: httpClient,
            options: .init(hostname: "demo", environment: [Self.apiSecretVariable: credentials.secret]),
            clock: clock,
            now: { clock.date },
            logger: logger,
            extraSinks: [recorder],
            sourceOverride: { _, _ in
                // The simulated nodes' addresses play the part of the pods' DNS names.
                let targets = emqx.endpoints.mapValues(\.absoluteString)
                return [
                    (try? EMQXScrapeSource(
                        configuration: .init(targets: targets),
                        httpClient: httpClient,
                        now: { clock.date }
                    ))
                    .map { $0 as any MetricSource }
                        ?? FailingSource(kind: "emqx", message: "cannot build the scrape source")
                ]
            }
        )
        let monitor = DemoMonitor(
            cluster: emqx,
            api: api,
            reference: reference,
            recorder: recorder,
            clock: clock,
            plan: plan,
            scenario: options.scenario,
            maxDuration: options.maxDuration ?? plan.observeFor,
            progress: progress
        )
        let agent = ServiceGroup(
            configuration: .init(
                services: assembly.services(listen: configuration.listen, configPath: nil, reloadClock: clock)
                    + [
                        .init(
                            service: monitor,
                            successTerminationBehavior: .gracefullyShutdownGroup,
                            failureTerminationBehavior: .gracefullyShutdownGroup
                        )
                    ],
                logger: logger
            )
        )
        var agentError: (any Error)?
        do {
            try await agent.run()
        } catch {
            agentError = error
        }
        await assembly.elector?.release()
        try? await httpClient.shutdown()
        try? await kubernetes.shutdown()
        if let agentError {
            throw DemoError(description: "the demo's agent stopped: \(StopReason.describe(agentError))")
        }
        let result = try monitor.result(decisions: recorder.decisions)
        if let serve {
            try await serve(
                result,
                DemoServedWorld(
                    kubernetesURL: baseURL,
                    kubeconfig: try await api.kubeconfig(namespace: plan.cluster.namespace),
                    namespace: plan.cluster.namespace,
                    name: plan.cluster.name,
                    kind: plan.cluster.kind.rawValue,
                    emqxTargets: emqx.endpoints.mapValues(\.absoluteString),
                    apiKey: credentials.key,
                    apiSecret: credentials.secret,
                    policyText: options.policyText,
                    actsThroughEMQXAPI: options.operatorGeneration == .v3_0
                )
            )
        }
        return result
    }
}

/// Applies the scenario's events at their simulated times, counted from the timeline's origin (the agent has seen the
/// cluster as it was before them).
struct DemoDirector: Service {
    let cluster: SimulatedEMQXCluster
    let api: SimulatedKubernetesAPI
    let events: [DemoScenario.TimedEvent]
    /// What an HPA does through the scale subresource.
    let scaleOuts: [(at: Duration, replicants: Int)]
    let clock: SimulationClock
    let recorder: DemoRecorder
    let progress: @Sendable (DemoRunner.Progress) -> Void

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            guard let origin = try await recorder.waitForOrigin(clock: clock, limit: .seconds(86_400)) else { return }
            // Cluster events and HPA writes, in time order; each says what it did.
            var steps: [(at: Duration, apply: () throws -> String)] = events.map { timed in
                (
                    timed.at,
                    {
                        try cluster.apply(timed.event)
                        return DemoDirector.describe(timed.event)
                    }
                )
            }
            for scale in scaleOuts {
                steps.append(
                    (
                        scale.at,
                        {
                            try api.scaleReplicants(
                                namespace: DemoScenario.namespace,
                                name: DemoScenario.name,
                                to: scale.replicants
                            )
                            return
                                "HPA scales the replicants to \(scale.replicants) through the scale subresource: new pods start, empty"
                        }
                    )
                )
            }
            for step in steps.sorted(by: { $0.at < $1.at }) {
                try await clock.sleep(until: SimulationClock.Instant(offset: origin + step.at), tolerance: nil)
                do {
                    progress(.note(seconds: step.at.seconds, try step.apply()))
                } catch {
                    progress(.note(seconds: step.at.seconds, "scenario event failed: \(error)"))
                }
            }
            try await Task.sleep(for: .seconds(86_400))
        }
    }

    static func describe(_ event: EMQXScenarioEvent) -> String {
        switch event {
        case .scaleOut(let count, _): "scale-out: \(count) node(s) join with 0 connections"
        case .scaleIn(let count, _): "scale-in: \(count) node(s) leave"
        case .restart(let node, _): "\(ConnectionsPlot.shortName(node)) restarts: its clients reconnect to the others"
        case .stop(let node): "\(ConnectionsPlot.shortName(node)) stops"
        case .start(let node): "\(ConnectionsPlot.shortName(node)) starts"
        case .connect(let clients): "\(clients) new clients connect"
        case .organicSkew(let node, let rate, let duration):
            "clients drift to \(ConnectionsPlot.shortName(node)) (\(rate)/s for \(DurationText.format(duration.seconds)))"
        case .churn(let rate, let duration, _, _): "client churn \(rate)/s for \(DurationText.format(duration.seconds))"
        }
    }
}
