import Act
import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import ServiceLifecycle
import Synchronization

/// The agent's main loop: every cycle it observes every watched cluster concurrently, evaluates the policies, acts
/// through the actuator (which writes only when leading and not in dry run), and hands one `TickReport` to the sinks
/// (metrics, logs, alerts).
///
/// `tick(at:)` is one cycle and is what tests, `run --once` and the demo call; `run()` only adds the timer.
public final class EvaluationLoop<C: Clock>: Service, Sendable where C.Duration == Duration {
    /// Everything the loop reaches the outside through.
    public struct Dependencies: Sendable {
        /// What the API server serves; reads each cluster's object at the version it picks.
        public var discovery: OperatorDiscovery
        /// Acts on clusters whose plan is `ActingMode.rebalanceResource`.
        public var actuator: any RebalanceActuator
        /// Builds the metric sources of a cluster entry, in fallback order.
        public var makeSources: @Sendable (ClusterSettings, ClusterReference) -> [any MetricSource]
        /// Whether a cluster can be acted on through EMQX's own API; with `.available` its plan is
        /// `ActingMode.emqxAPI` and `emqxAPIActuator` acts.
        public var directActing: @Sendable (ClusterReference) -> DirectActing
        public var emqxAPIActuator: (any RebalanceActuator)?
        /// Upper bound for one cluster's whole cycle and for each source.
        public var clusterTimeout: Duration

        public init(
            discovery: OperatorDiscovery,
            actuator: any RebalanceActuator,
            makeSources: @escaping @Sendable (ClusterSettings, ClusterReference) -> [any MetricSource],
            directActing: @escaping @Sendable (ClusterReference) -> DirectActing = { _ in .notBuilt },
            emqxAPIActuator: (any RebalanceActuator)? = nil,
            clusterTimeout: Duration = .seconds(20)
        ) {
            self.discovery = discovery
            self.actuator = actuator
            self.makeSources = makeSources
            self.directActing = directActing
            self.emqxAPIActuator = emqxAPIActuator
            self.clusterTimeout = clusterTimeout
        }

        public var kubernetes: any KubernetesAPI { discovery.api }

        /// The actuator of a plan's way of acting; `nil` for alert-only.
        func actuator(for acting: ActingMode) -> (any RebalanceActuator)? {
            switch acting {
            case .rebalanceResource: actuator
            case .emqxAPI: emqxAPIActuator
            case .alertOnly: nil
            }
        }
    }

    struct StateKey: Hashable {
        var cluster: ClusterReference
        var policy: String
    }

    let store: ConfigurationStore
    let dependencies: Dependencies
    let sinks: [any TickReportSink]
    let clock: C
    let now: @Sendable () -> Date
    let logger: Logger
    let engineStates = Mutex<[StateKey: (policy: Policy, state: ClusterEngineState)]>([:])
    /// The configuration generation discovery last ran for (discovery runs again after each reload).
    let discoveredFor = Mutex<Int?>(nil)
    /// The last plan line logged per cluster: a new one is logged when it changes (start-up, reload, rediscovery, an
    /// EMQX upgrade).
    let loggedPlans = Mutex<[ClusterReference: String]>([:])

    public init(
        store: ConfigurationStore,
        dependencies: Dependencies,
        sinks: [any TickReportSink],
        clock: C,
        now: @escaping @Sendable () -> Date,
        logger: Logger
    ) {
        self.store = store
        self.dependencies = dependencies
        self.sinks = sinks
        self.clock = clock
        self.now = now
        self.logger = logger
    }

    // MARK: Service

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    let started = self.clock.now
                    let report = await self.tick(at: self.now())
                    for sink in self.sinks { await sink.publish(report) }
                    let interval = Duration.seconds(self.store.current.evaluationInterval)
                    try await self.clock.sleep(until: started.advanced(by: interval), tolerance: nil)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown (or cancellation) ends the loop; that is a normal stop, not a failure.
        }
    }

    // MARK: One cycle

    /// Runs one evaluation cycle over every watched cluster at `now` and returns what happened. Never throws: every
    /// failure is in the report.
    public func tick(at now: Date) async -> TickReport {
        let started = clock.now
        let active = store.current
        var errors: [String] = []
        var work: [(ClusterReference, ClusterSettings)] = []
        if discoveredFor.withLock({ $0 }) != active.generation {
            do {
                try await dependencies.discovery.refresh()
                discoveredFor.withLock { $0 = active.generation }
            } catch {
                errors.append("cannot discover what the API server serves in \(OperatorAPIs.group): \(error)")
            }
        }
        for settings in active.configuration.clusters {
            do {
                for reference in try await resolve(settings.target) { work.append((reference, settings)) }
            } catch {
                errors.append("cannot list EMQX objects for \(settings.target.description): \(error)")
            }
        }
        let clusterReports = await withTaskGroup(of: ClusterCycleReport.self) { group in
            for (reference, settings) in work {
                let policies = active.policies(for: settings)
                group.addTask { await self.cycle(reference, settings: settings, policies: policies, at: now) }
            }
            var reports: [ClusterCycleReport] = []
            for await report in group { reports.append(report) }
            return reports.sorted { $0.cluster < $1.cluster }
        }
        logPlanChanges(clusterReports, settings: Dictionary(work.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first }))
        forgetStates(keeping: Set(work.map(\.0)))
        return TickReport(at: now, duration: started.duration(to: clock.now), clusters: clusterReports, errors: errors)
    }

    /// Named clusters as they are; selectors listed (in their namespace) and filtered by labels.
    func resolve(_ target: ClusterSettings.Target) async throws -> [ClusterReference] {
        switch target {
        case .named(let reference):
            return [reference]
        case .selector(let namespace, let kind, let labels):
            return try await dependencies.discovery.clusters(kind, namespace: namespace ?? "default", matchLabels: labels)
        }
    }

    /// One cluster's cycle, bounded by the cluster timeout so one slow cluster does not hold the others.
    func cycle(_ cluster: ClusterReference, settings: ClusterSettings, policies: [Policy], at now: Date) async -> ClusterCycleReport {
        let timeout = dependencies.clusterTimeout
        let result = await withTimeout(timeout) {
            await self.unboundedCycle(cluster, settings: settings, policies: policies, at: now)
        }
        if let result { return result }
        var report = ClusterCycleReport(cluster: cluster, at: now)
        report.errors.append("cycle of \(cluster) did not finish within \(timeout); skipped")
        return report
    }

    func unboundedCycle(_ cluster: ClusterReference, settings: ClusterSettings, policies: [Policy], at now: Date) async -> ClusterCycleReport {
        var report = ClusterCycleReport(cluster: cluster, at: now)

        // Observe: the EMQX object (facts, node set), on 3.0 its pods, the rebalance history, and the metrics.
        let object: ClusterObject
        let plan: ClusterPlan
        do {
            object = try await dependencies.discovery.object(of: cluster)
            plan = ClusterPlan.make(for: cluster, served: try await dependencies.discovery.served(), direct: dependencies.directActing(cluster))
        } catch {
            report.errors.append("cannot read the \(cluster.kind.rawValue) object \(cluster): \(error)")
            return report
        }
        report.plan = plan
        var pods: [Pod]?
        var podsError: String?
        if object.version == .v3beta1 {
            // 3.0 marks the pods it removes (apps.emqx.io/scaling-down) before their nodes show as evacuating.
            do {
                pods = try await dependencies.kubernetes.pods(namespace: cluster.namespace, labelSelector: "\(Pod.instanceLabel)=\(cluster.name)")
            } catch {
                podsError = "\(error)"
                report.errors.append("cannot list the pods of \(cluster): \(error)")
            }
        }
        let reading = ClusterReading.read(object, pods: pods)
        report.notes = reading.notes
        report.emqxVersions = reading.emqxVersions
        var history = ActionHistory.empty
        var facts = reading.facts
        facts.podsUnreadable = podsError
        facts.cannotAct = plan.acting.alertOnlyReason
        let actuator = dependencies.actuator(for: plan.acting)
        if let actuator {
            do {
                history = try await actuator.history(for: cluster)
                report.history = history
                // The actuator's blocker also sees one of ours that failed "not ready" while EMQX may still rebalance.
                let blocker = try await actuator.blocker(for: cluster)
                facts.rebalanceRunning = blocker != nil || history.rebalances.contains { $0.isActive }
            } catch {
                facts.rebalanceRunning = nil  // unknown: the engine blocks on it
                report.errors.append("cannot list the Rebalances of \(cluster): \(error)")
            }
        }
        let request = ObservationRequest(cluster: cluster, expectedNodes: reading.expectedNodes)
        let nodes = await observe(request, sources: dependencies.makeSources(settings, cluster), report: &report)
        let roles = Dictionary(reading.expectedNodes.map { ($0.name, $0.role) }, uniquingKeysWith: { first, _ in first })
        let snapshot = ClusterSnapshot(
            cluster: cluster,
            takenAt: now,
            expectedNodes: reading.expectedNodes.map(\.name),
            nodes: (nodes ?? []).map { node in
                var node = node
                if node.role == nil { node.role = roles[node.name] ?? nil }
                return node
            },
            facts: facts
        )
        report.snapshot = snapshot

        // Decide.
        for policy in policies {
            let key = StateKey(cluster: cluster, policy: policy.name)
            let previous = engineStates.withLock { states -> ClusterEngineState? in
                guard let stored = states[key] else { return nil }
                return stored.policy == policy ? stored.state : stored.state.carryingOver(from: stored.policy, to: policy)
            }
            let result = PolicyEngine.evaluate(policy, snapshot: snapshot, history: history, at: now, previous: previous)
            engineStates.withLock { $0[key] = (policy, result.state) }
            report.policies.append(PolicyOutcome(policy: policy, result: result))
        }

        // Act: at most one rebalance per cluster per cycle, whatever the number of policies.
        guard let actuator else { return report }
        if let decision = report.decisions.first(where: { $0.action == .rebalance }) {
            do {
                report.create = try await actuator.create(decision, on: object, at: now)
            } catch {
                report.errors.append("cannot create the Rebalance for rule \(decision.rule) on \(cluster): \(error)")
            }
        }
        do {
            let inputs = FollowInputs(now: now, clusterReady: facts.ready, counts: snapshot.completeCounts)
            report.follow = try await actuator.follow(object, inputs: inputs)
        } catch {
            report.errors.append("cannot follow the Rebalances of \(cluster): \(error)")
        }
        return report
    }

    /// Tries the sources in order; the first that answers supplies the nodes. `nil` when every source failed.
    func observe(_ request: ObservationRequest, sources: [any MetricSource], report: inout ClusterCycleReport) async -> [NodeObservation]? {
        for source in sources {
            let started = clock.now
            do {
                let observation = try await withThrowingTimeout(dependencies.clusterTimeout) { try await source.observe(request) }
                report.sources.append(SourceAttempt(source: source.kind, duration: started.duration(to: clock.now), warnings: observation.warnings))
                return observation.nodes
            } catch {
                report.sources.append(SourceAttempt(source: source.kind, duration: started.duration(to: clock.now), error: "\(error)"))
            }
        }
        if !sources.isEmpty {
            report.errors.append("every metric source of \(request.cluster) failed: " + report.sources.compactMap { a in a.error.map { "\(a.source): \($0)" } }.joined(separator: "; "))
        }
        return nil
    }

    /// Logs each cluster's plan line when it is new or changed.
    func logPlanChanges(_ reports: [ClusterCycleReport], settings: [ClusterReference: ClusterSettings]) {
        for report in reports {
            guard let line = report.planLine(sources: settings[report.cluster]?.sources.map(\.kind) ?? []) else { continue }
            let changed = loggedPlans.withLock { logged -> Bool in
                defer { logged[report.cluster] = line }
                return logged[report.cluster] != line
            }
            if changed { logger.info("cluster \(line)") }
        }
    }

    func forgetStates(keeping clusters: Set<ClusterReference>) {
        engineStates.withLock { states in states = states.filter { clusters.contains($0.key.cluster) } }
    }

    /// Runs `body`, giving up (and cancelling it) after `timeout` on the loop's clock.
    func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await body() }
            group.addTask {
                try? await self.clock.sleep(until: self.clock.now.advanced(by: timeout), tolerance: nil)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    func withThrowingTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await self.clock.sleep(until: self.clock.now.advanced(by: timeout), tolerance: nil)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw TimeoutError(duration: timeout)
            }
            return value
        }
    }
}

/// A step that did not finish in time.
public struct TimeoutError: Error, CustomStringConvertible, Sendable {
    public var duration: Duration
    public var description: String { "timed out after \(duration)" }
}

extension ClusterSettings.Target: CustomStringConvertible {
    public var description: String {
        switch self {
        case .named(let reference): reference.description
        case .selector(let namespace, let kind, let labels):
            "\(kind.rawValue) objects in \(namespace ?? "default") with labels \(labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))"
        }
    }
}

extension ClusterSnapshot {
    /// The counts outcomes are judged from (and balance metrics computed on): every expected node of the rebalanced
    /// set with its live connections, or `nil` when any is unknown.
    public var completeCounts: [BalanceMath.NodeCounts]? {
        let nodes = rebalancedNodes
        guard !nodes.isEmpty, missingNodes.isEmpty else { return nil }
        var counts: [BalanceMath.NodeCounts] = []
        for node in nodes {
            guard let live = node.liveConnections else { return nil }
            counts.append(BalanceMath.NodeCounts(name: node.name, liveConnections: live, sessions: node.sessions))
        }
        return counts
    }
}
