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
        public var kubernetes: any KubernetesAPI
        public var actuator: any RebalanceActuator
        /// Builds the metric sources of a cluster entry, in fallback order.
        public var makeSources: @Sendable (ClusterSettings, ClusterReference) -> [any MetricSource]
        /// The time one cluster's cycle gets for Kubernetes reads and writes, and the budget of a source that states
        /// none (the EMQX status source). The cycle's whole budget adds every source's budget of the fallback list.
        public var clusterTimeout: Duration

        public init(
            kubernetes: any KubernetesAPI,
            actuator: any RebalanceActuator,
            makeSources: @escaping @Sendable (ClusterSettings, ClusterReference) -> [any MetricSource],
            clusterTimeout: Duration = .seconds(20)
        ) {
            self.kubernetes = kubernetes
            self.actuator = actuator
            self.makeSources = makeSources
            self.clusterTimeout = clusterTimeout
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
        forgetStates(keeping: Set(work.map(\.0)))
        return TickReport(at: now, duration: started.duration(to: clock.now), clusters: clusterReports, errors: errors)
    }

    /// Named clusters as they are; selectors listed (in their namespace) and filtered by labels.
    func resolve(_ target: ClusterSettings.Target) async throws -> [ClusterReference] {
        switch target {
        case .named(let reference):
            return [reference]
        case .selector(let namespace, let kind, let labels):
            let namespace = namespace ?? "default"
            let metas: [ObjectMeta]
            switch kind {
            case .emqx: metas = try await dependencies.kubernetes.emqxes(namespace: namespace).map(\.metadata)
            case .emqxEnterprise: metas = try await dependencies.kubernetes.emqxEnterprises(namespace: namespace).map(\.metadata)
            }
            return metas.filter { meta in labels.allSatisfy { meta.labels?[$0.key] == $0.value } }.compactMap { meta in
                meta.name.map { ClusterReference(namespace: meta.namespace ?? namespace, name: $0, kind: kind) }
            }
        }
    }

    /// One cluster's cycle, bounded so one slow cluster does not hold the others: the cluster timeout for the
    /// Kubernetes calls plus every source's budget, so the last source of a fallback list still gets its turn when
    /// the ones before it hang.
    func cycle(_ cluster: ClusterReference, settings: ClusterSettings, policies: [Policy], at now: Date) async -> ClusterCycleReport {
        let sources = dependencies.makeSources(settings, cluster)
        let timeout = sources.reduce(dependencies.clusterTimeout) { $0 + budget(of: $1) }
        let result = await withTimeout(timeout) {
            await self.unboundedCycle(cluster, settings: settings, sources: sources, policies: policies, at: now)
        }
        if let result { return result }
        var report = ClusterCycleReport(cluster: cluster, at: now)
        report.errors.append("cycle of \(cluster) did not finish within its budget of \(DurationText.format(timeout.seconds)) (Kubernetes reads or writes hang); skipped")
        return report
    }

    /// What a source may take in one cycle.
    func budget(of source: any MetricSource) -> Duration {
        source.budget ?? dependencies.clusterTimeout
    }

    func unboundedCycle(
        _ cluster: ClusterReference, settings: ClusterSettings, sources: [any MetricSource], policies: [Policy], at now: Date
    ) async -> ClusterCycleReport {
        var report = ClusterCycleReport(cluster: cluster, at: now)

        // Observe: the EMQX object (facts, node set), the rebalance history, and the metrics.
        let object: ClusterObject
        do {
            object = try await ClusterObject.fetch(cluster, from: dependencies.kubernetes)
        } catch {
            report.errors.append("cannot read the \(cluster.kind.rawValue) object \(cluster): \(error)")
            return report
        }
        let reading = ClusterReading.read(object)
        report.notes = reading.notes
        var history = ActionHistory.empty
        var facts = reading.facts
        do {
            history = try await dependencies.actuator.history(for: cluster)
            report.history = history
            // The actuator's blocker also sees one of ours that failed "not ready" while EMQX may still rebalance.
            let blocker = try await dependencies.actuator.blocker(for: cluster)
            facts.rebalanceRunning = blocker != nil || history.rebalances.contains { $0.isActive }
        } catch {
            facts.rebalanceRunning = nil  // unknown: the engine blocks on it
            report.errors.append("cannot list the Rebalances of \(cluster): \(error)")
        }
        let request = ObservationRequest(cluster: cluster, expectedNodes: reading.expectedNodes)
        let nodes = await observe(request, sources: sources, at: now, report: &report)
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
        if let decision = report.decisions.first(where: { $0.action == .rebalance }) {
            do {
                report.create = try await dependencies.actuator.create(decision, on: object, at: now)
            } catch {
                report.errors.append("cannot create the Rebalance for rule \(decision.rule) on \(cluster): \(error)")
            }
        }
        do {
            let inputs = FollowInputs(now: now, clusterReady: facts.ready, counts: snapshot.completeCounts)
            report.follow = try await dependencies.actuator.follow(object, inputs: inputs)
        } catch {
            report.errors.append("cannot follow the Rebalances of \(cluster): \(error)")
        }
        return report
    }

    /// Tries the sources in order; the first that answers supplies the nodes. `nil` when every source failed. Every
    /// answer passes ``ObservationCheck`` first: an implausible number is unknown (with a warning), never a count.
    func observe(
        _ request: ObservationRequest, sources: [any MetricSource], at now: Date, report: inout ClusterCycleReport
    ) async -> [NodeObservation]? {
        for source in sources {
            let started = clock.now
            let budget = budget(of: source)
            do {
                let answer = try await withThrowingTimeout(budget) { try await source.observe(request) }
                let observation = ObservationCheck.validate(answer, at: now)
                report.sources.append(SourceAttempt(source: source.kind, duration: started.duration(to: clock.now), warnings: observation.warnings))
                return observation.nodes
            } catch is TimeoutError {
                let error = "the \(source.kind) source did not answer within its budget of \(DurationText.format(budget.seconds))"
                report.sources.append(SourceAttempt(source: source.kind, duration: started.duration(to: clock.now), error: error))
            } catch {
                report.sources.append(SourceAttempt(source: source.kind, duration: started.duration(to: clock.now), error: "\(error)"))
            }
        }
        if !sources.isEmpty {
            report.errors.append("every metric source of \(request.cluster) failed: " + report.sources.compactMap { a in a.error.map { "\(a.source): \($0)" } }.joined(separator: "; "))
        }
        return nil
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
