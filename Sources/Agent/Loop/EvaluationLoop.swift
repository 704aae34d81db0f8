import Act
import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import Observe
import ServiceLifecycle
import Synchronization

/// The agent's main loop: every cycle it observes every watched cluster, 16 at a time (the EMQX object and its
/// Rebalances once each, then the metrics), steps every policy's rule state machines, lets the cluster's actuator
/// carry out at most one rebalance, confirms what the actuator really did, follows the cluster's Rebalances, and
/// hands one `TickReport` to the sinks (metrics, logs, alerts).
///
/// `tick(at:)` is one cycle and is what tests, `run --once` and the demo call; `run()` only adds the timer.
public final class EvaluationLoop<C: Clock>: Service, Sendable where C.Duration == Duration {
    /// Everything the loop reaches the outside through.
    public struct Dependencies: Sendable {
        /// What the API server serves; reads each cluster's object at the version it picks.
        public var discovery: OperatorDiscovery
        /// Which actuator acts on a cluster: by its plan's way of acting, or the dry-run one, per cycle.
        public var actuators: ActuatorChoice
        /// Builds the metric sources of a cluster entry, in fallback order.
        public var makeSources: @Sendable (ClusterSettings, ClusterReference) -> [any MetricSource]
        /// A cluster's EMQX API as configured: with `.available` (and `records`) the cluster can be acted on through
        /// it (its plan is `ActingMode.emqxAPI` and `actuators.emqxAPI` acts), and an entry without an EMQX object is
        /// read from it.
        public var emqxAPI: @Sendable (ClusterSettings, ClusterReference) -> EMQXAPIAccess
        /// Where `EMQXRebalance` records are kept (the Kubernetes client); `nil`: no acting through EMQX's API.
        public var records: (any EMQXRebalanceStore)?
        /// The time one cluster's cycle gets for Kubernetes reads and writes, and the budget of a source that states
        /// none. The cycle's whole budget adds every source's budget of the fallback list.
        public var clusterTimeout: Duration
        /// Where the Event about repeatedly failing creates goes (`nil`: none).
        public var events: EventRecorder?
        /// Why this process stays in dry run whatever the configuration says (`--dry-run`, `--once`, or started in
        /// dry run with leader election, which needs a restart to join); `nil` when `dryRun:` alone decides.
        public var dryRunLock: String?
        /// Told which clusters a cycle covers before any is observed (sources that ask once for all of them).
        public var cycleWillStart: @Sendable ([(ClusterReference, ClusterSettings)]) -> Void
        /// Whether this replica observes a cluster at all: with shards, only the clusters of the shards it holds.
        public var observes: @Sendable (ClusterReference) -> Bool

        public init(
            discovery: OperatorDiscovery,
            actuators: ActuatorChoice,
            makeSources: @escaping @Sendable (ClusterSettings, ClusterReference) -> [any MetricSource],
            emqxAPI: @escaping @Sendable (ClusterSettings, ClusterReference) -> EMQXAPIAccess = { _, _ in
                .unavailable(DirectActing.notBuiltReason)
            },
            records: (any EMQXRebalanceStore)? = nil,
            clusterTimeout: Duration = .seconds(20),
            events: EventRecorder? = nil,
            dryRunLock: String? = nil,
            cycleWillStart: @escaping @Sendable ([(ClusterReference, ClusterSettings)]) -> Void = { _ in },
            observes: @escaping @Sendable (ClusterReference) -> Bool = { _ in true }
        ) {
            self.discovery = discovery
            self.actuators = actuators
            self.makeSources = makeSources
            self.emqxAPI = emqxAPI
            self.records = records
            self.clusterTimeout = clusterTimeout
            self.events = events
            self.dryRunLock = dryRunLock
            self.cycleWillStart = cycleWillStart
            self.observes = observes
        }

        public var kubernetes: any KubernetesAPI { discovery.api }

        /// Whether `cluster` can be acted on through EMQX's API, and the client when it can.
        func emqxAPIAccess(_ settings: ClusterSettings, _ cluster: ClusterReference) -> EMQXAPIAccess {
            guard records != nil else { return .unavailable(DirectActing.notBuiltReason) }
            return emqxAPI(settings, cluster)
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
                    let took = started.duration(to: self.clock.now)
                    if took > interval, interval > .zero {
                        // The next cycle starts at once; the slots this one ran over are lost.
                        let slots = Int((took / interval).rounded(.down))
                        self.logger.warning(
                            "evaluation cycle took \(took), longer than the evaluation interval \(interval): \(slots) cycle slot(s) skipped"
                        )
                    }
                    try await self.clock.sleep(until: started.advanced(by: interval), tolerance: nil)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown (or cancellation) ends the loop; that is a normal stop, not a failure.
        }
    }

    // MARK: One cycle

    /// Whether this cycle writes nothing: `dryRun:` as the configuration in force says it, or a lock.
    func isDryRun(_ active: ActiveConfiguration) -> Bool {
        dependencies.dryRunLock != nil || active.configuration.dryRun
    }

    /// Runs one evaluation cycle over every watched cluster at `now` and returns what happened. Never throws: every
    /// failure is in the report.
    public func tick(at now: Date) async -> TickReport {
        let started = clock.now
        let active = store.current
        let dryRun = isDryRun(active)
        var errors: [String] = []
        var work: [(ClusterReference, ClusterSettings)] = []
        var discoveryFailure: String?
        if discoveredFor.withLock({ $0 }) != active.generation {
            // Bounded like a cluster's cycle: an API server that accepts and never answers costs one budget here.
            let trail = RequestTrail()
            let budget = dependencies.clusterTimeout
            let outcome: Result<Void, any Error>? = await RequestTrail.$current.withValue(trail) {
                await RequestBudget.$current.withValue(RequestBudget(cycle: budget)) {
                    await withTimeout(budget) {
                        do {
                            try await self.dependencies.discovery.refresh()
                            return .success(())
                        } catch {
                            return .failure(error)
                        }
                    }
                }
            }
            switch outcome {
            case .success?:
                discoveredFor.withLock { $0 = active.generation }
            case .failure(let error)?:
                discoveryFailure = "\(error)"
            case nil where Task.isCancelled:
                discoveryFailure = "cut short: the agent is stopping"
            case nil:
                discoveryFailure =
                    "no answer within \(dependencies.clusterTimeout.text)\(trail.latest.map { " (the last attempt: \($0))" } ?? "")"
            }
            if let discoveryFailure {
                errors.append(
                    "cannot discover what the API server serves in \(OperatorAPIs.group): \(discoveryFailure)"
                )
            }
        }
        for settings in active.configuration.clusters {
            do {
                for reference in try await resolve(settings.target) { work.append((reference, settings)) }
            } catch {
                errors.append("cannot list EMQX objects for \(settings.target.description): \(error)")
            }
        }
        work = work.filter { dependencies.observes($0.0) }
        dependencies.cycleWillStart(work)
        let retryPolicy = active.configuration.rebalances.createRetry
        // Without any answer from discovery every cluster's cycle would start by asking again, and fail the same way.
        let skipped = discoveryFailure != nil && dependencies.discovery.known == nil
        let clusterReports = await withTaskGroup(of: ClusterCycleReport.self) { group in
            var reports: [ClusterCycleReport] = []
            var running = 0
            for (reference, settings) in work {
                if skipped {
                    var report = ClusterCycleReport(cluster: reference, at: now)
                    report.errors.append(
                        "skipped: the API server's discovery failed (above), so the \(reference.kind.rawValue) object cannot be read"
                    )
                    reports.append(report)
                    continue
                }
                // A cycle that waited for a slot is judged at the time it starts, not the tick's: behind clusters that
                // hang, the wait can pass a minute, and its fresh samples would then look like they came from the future.
                var startsAt = now
                if running == Self.concurrentClusters, let report = await group.next() {
                    reports.append(report)
                    running -= 1
                    startsAt = max(now, self.now())
                }
                let policies = active.policies(for: settings)
                group.addTask { [startsAt] in
                    await self.cycle(
                        reference,
                        settings: settings,
                        policies: policies,
                        dryRun: dryRun,
                        retryPolicy: retryPolicy,
                        at: startsAt
                    )
                }
                running += 1
            }
            for await report in group { reports.append(report) }
            return reports.sorted { $0.cluster < $1.cluster }
        }
        logPlanChanges(
            clusterReports,
            settings: Dictionary(work.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })
        )
        forgetStates(keeping: Set(work.map(\.0)), policies: Set(active.policies.map(\.name)))
        return TickReport(
            at: now,
            duration: started.duration(to: clock.now),
            clusters: clusterReports,
            errors: errors,
            dryRun: dryRun
        )
    }

    /// Named clusters as they are; selectors listed (in their namespace) and filtered by labels.
    func resolve(_ target: ClusterSettings.Target) async throws -> [ClusterReference] {
        switch target {
        case .named(let reference):
            return [reference]
        case .selector(let namespace, let kind, let labels):
            return try await dependencies.discovery.clusters(
                kind,
                namespace: namespace ?? "default",
                matchLabels: labels
            )
        }
    }

    /// How many clusters' cycles run at once. Each holds its async frames, its object and readings and its share of
    /// the batched metric answers while it runs; with hundreds of clusters all at once that peak, freed again every
    /// cycle, left the allocator's arenas fragmented (most of the agent's memory at 200 clusters). A cluster whose
    /// Kubernetes calls or sources hang holds one slot for at most its budget; the others go through the remaining
    /// slots, so only as many hanging clusters as there are slots would hold up the rest.
    static var concurrentClusters: Int { 16 }

    /// One cluster's cycle, bounded so one slow cluster does not hold the others: the cluster timeout for the
    /// Kubernetes calls plus every source's budget, so the last source of a fallback list still gets its turn when
    /// the ones before it hang.
    func cycle(
        _ cluster: ClusterReference,
        settings: ClusterSettings,
        policies: [Policy],
        dryRun: Bool,
        retryPolicy: CreateRetryPolicy,
        at now: Date
    ) async -> ClusterCycleReport {
        let sources = dependencies.makeSources(settings, cluster)
        let timeout = sources.reduce(dependencies.clusterTimeout) { $0 + budget(of: $1) }
        let trail = RequestTrail()
        // Each Kubernetes request's timeout and retries fit what is left of the budget, ending a second early: an API
        // server that accepts and never answers ends the cycle with that reason rather than being cut off mid-retry.
        let requests = RequestBudget(cycle: timeout)
        // Every write of this cycle is for this cluster: the writers' gate asks whether its shard is held.
        let result = await WriteScope.$cluster.withValue(cluster) {
            await RequestTrail.$current.withValue(trail) {
                await RequestBudget.$current.withValue(requests) {
                    await withTimeout(timeout) {
                        await self.unboundedCycle(
                            cluster,
                            settings: settings,
                            sources: sources,
                            policies: policies,
                            dryRun: dryRun,
                            retryPolicy: retryPolicy,
                            at: now
                        )
                    }
                }
            }
        }
        if let result { return result }
        var report = ClusterCycleReport(cluster: cluster, at: now)
        if Task.isCancelled {
            report.errors.append("cycle of \(cluster) cut short: the agent is stopping")
            return report
        }
        if let latest = trail.latest {
            report.errors.append(
                "cycle of \(cluster) did not finish within its budget of \(timeout.text); skipped; the last Kubernetes request failed: \(latest)"
            )
        } else {
            report.errors.append(
                "cycle of \(cluster) did not finish within its budget of \(timeout.text) (Kubernetes reads or writes hang); skipped"
            )
        }
        return report
    }

    /// What a source may take in one cycle.
    func budget(of source: any MetricSource) -> Duration {
        source.budget ?? dependencies.clusterTimeout
    }

    func unboundedCycle(
        _ cluster: ClusterReference,
        settings: ClusterSettings,
        sources: [any MetricSource],
        policies: [Policy],
        dryRun: Bool,
        retryPolicy: CreateRetryPolicy,
        at now: Date
    ) async -> ClusterCycleReport {
        var report = ClusterCycleReport(cluster: cluster, at: now)

        // Observe, once: the EMQX object (facts, node set) unless the entry has none, on 3.0 its pods; where the plan
        // acts through the `Rebalance` resource the namespace's Rebalances (history, blocker), where it acts through
        // EMQX's API the cluster's records, `global_status` and `/api/v5/nodes`; then the metrics.
        let access = dependencies.emqxAPIAccess(settings, cluster)
        var object: ClusterObject?
        let plan: ClusterPlan
        if settings.hasObject {
            do {
                object = try await dependencies.discovery.object(of: cluster)
                plan = ClusterPlan.make(
                    for: cluster,
                    served: try await dependencies.discovery.served(),
                    direct: access.directActing,
                    actuator: settings.actuator
                )
            } catch {
                report.errors.append("cannot read the \(cluster.kind.rawValue) object \(cluster): \(error)")
                return report
            }
        } else {
            plan = ClusterPlan.withoutObject(cluster, direct: access.directActing)
        }
        report.plan = plan
        var pods: [Pod]?
        var podsError: String?
        if object?.version == .v3beta1 {
            // 3.0 marks the pods it removes (apps.emqx.io/scaling-down) before their nodes show as evacuating.
            do {
                pods = try await dependencies.kubernetes.pods(
                    namespace: cluster.namespace,
                    labelSelector: "\(Pod.instanceLabel)=\(cluster.name)"
                )
            } catch {
                podsError = "\(error)"
                report.errors.append("cannot list the pods of \(cluster): \(error)")
            }
        }
        var view: ObservedCluster
        switch (plan.acting, object, access.client, dependencies.records) {
        case (.rebalanceResource, let object?, _, _):
            view = await ObservedCluster.read(cluster, object: object, from: dependencies.kubernetes)
        case (.emqxAPI, _, let client?, let records?):
            view = await ObservedCluster.read(cluster, object: object, emqx: client, records: records)
        default:
            view = ObservedCluster(reference: cluster, object: object, rebalances: nil)
        }
        report.errors += view.readErrors
        let reading = Self.reading(object, pods: pods, view: view, at: now)
        let rebalancedNodes =
            object == nil ? view.emqxAPI?.observation?.nodes?.rebalanced : reading.expectedNodes.map(\.name)
        view.emqxAPI?.rebalancedNodes = rebalancedNodes
        report.notes = reading.notes
        report.emqxVersions = reading.emqxVersions
        var facts = reading.facts
        facts.podsUnreadable = podsError
        facts.cannotAct = plan.acting.alertOnlyReason
        let history = view.history ?? .empty
        if let history = view.history {
            report.history = history
            // The blocker also sees one of ours that failed "not ready" while EMQX may still rebalance.
            let active = history.rebalances.contains { $0.isActive }
            facts.rebalanceRunning = active ? true : view.rebalanceRunning
        } else if view.rebalances == nil, view.emqxAPI != nil || plan.acting == .rebalanceResource {
            facts.rebalanceRunning = nil  // unknown: the actuator finds the blocker when it acts
        }
        let request = ObservationRequest(cluster: cluster, expectedNodes: reading.expectedNodes)
        let nodes = await observe(request, view: view, reading: reading, sources: sources, at: now, report: &report)
        let roles = Dictionary(
            reading.expectedNodes.map { ($0.name, $0.role) },
            uniquingKeysWith: { first, _ in first }
        )
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

        // Decide: step every policy's rules. The step's state is kept at once, so a cycle cut short while acting
        // leaves the winner `creating` (unconfirmed), never `acted`.
        var results: [(policy: Policy, result: EngineResult)] = []
        for policy in policies {
            let key = StateKey(cluster: cluster, policy: policy.name)
            let previous = engineStates.withLock { states -> ClusterEngineState? in
                guard let stored = states[key] else { return nil }
                return stored.policy == policy
                    ? stored.state : stored.state.carryingOver(from: stored.policy, to: policy)
            }
            let result = PolicyEngine.evaluate(
                policy,
                snapshot: snapshot,
                history: history,
                at: now,
                previous: previous
            )
            engineStates.withLock { $0[key] = (policy, result.state) }
            results.append((policy, result))
        }

        // Act: at most one rebalance per cluster per cycle, whatever the number of policies; then confirm. An
        // alert-only cluster has no actuator (its `cannot-act` gate keeps rules from deciding).
        let actuator = dependencies.actuators.actuator(for: plan.acting, dryRun: dryRun)
        if let actuator, let first = results.firstIndex(where: { $0.result.rebalance != nil }),
            let decision = results[first].result.rebalance
        {
            let action = await actuator.act(decision, on: view, at: now)
            report.action = action
            results[first].result = PolicyEngine.confirm(
                results[first].result,
                action.result,
                at: now,
                retryPolicy: retryPolicy
            )
            let acting = NotMadeReason.otherRule(
                "rule \(decision.rule) of policy \(results[first].policy.identifier) acts on this cluster now (one rebalance at a time)"
            )
            for index in results.indices where index != first && results[index].result.rebalance != nil {
                results[index].result = PolicyEngine.confirm(
                    results[index].result,
                    .notMade(acting),
                    at: now,
                    retryPolicy: retryPolicy
                )
            }
            if case .failed(let failure) = action.result,
                let retry = results[first].result.evaluations.first(where: { $0.rule == decision.rule })?.retry,
                retry.escalated
            {
                let what = action.object.map { "\($0.kind)" } ?? "the Rebalance"
                await dependencies.events?.record(
                    .rebalanceCreateFailed,
                    "rule \(decision.rule): creating the \(what) keeps failing (\(failure.kind.rawValue)); retried with backoff while the rule fires: \(failure.message)",
                    on: view.object?.objectReference ?? action.object.map(Self.reference)
                        ?? ObjectReference(apiVersion: nil, kind: nil, name: cluster.name, namespace: cluster.namespace),
                    at: now
                )
            }
        }
        for (policy, result) in results {
            engineStates.withLock { $0[StateKey(cluster: cluster, policy: policy.name)] = (policy, result.state) }
            report.policies.append(PolicyOutcome(policy: policy, result: result))
        }

        if let actuator {
            let inputs = FollowInputs(
                now: now,
                clusterReady: facts.ready,
                counts: snapshot.completeCounts,
                clusterGate: ClusterGates.firstClosed(facts, at: now)?.detail,
                acted: report.action
            )
            report.follow = await actuator.follow(view, inputs: inputs)
            // A start whose answer was lost in an earlier cycle, now shown by EMQX, counts from now on.
            for late in report.follow.compactMap(\.lateConfirmation) {
                for policy in policies {
                    let key = StateKey(cluster: cluster, policy: policy.name)
                    engineStates.withLock { states in
                        if let stored = states[key] { states[key] = (stored.policy, stored.state.confirmingLate(late)) }
                    }
                }
            }
        }
        return report
    }

    /// The cluster's facts and node set: from its EMQX object, or, for an entry without one, from EMQX's
    /// `/api/v5/nodes` as the cycle read it (all unknown when it could not be read).
    static func reading(_ object: ClusterObject?, pods: [Pod]?, view: ObservedCluster, at now: Date) -> ClusterReading {
        if let object { return ClusterReading.read(object, pods: pods) }
        guard let observation = view.emqxAPI?.observation, let nodes = observation.nodes else {
            return ClusterReading(
                facts: ClusterFacts(),
                expectedNodes: [],
                nodes: [],
                notes: ["the cluster's nodes are unknown: EMQX's /api/v5/nodes could not be read"]
            )
        }
        var evacuating: Bool?
        if case .status(let status) = observation.emqx { evacuating = !status.evacuations.isEmpty }
        return nodes.reading(at: now, evacuating: evacuating)
    }

    static func reference(_ object: ActedObject) -> ObjectReference {
        ObjectReference(
            apiVersion: object.kind == EMQXRebalance.kind ? EMQXRebalance.apiVersion : nil,
            kind: object.kind,
            name: object.name,
            namespace: object.namespace
        )
    }

    /// Tries the sources in order; the first that answers supplies the nodes. `nil` when every source failed. Every
    /// answer passes ``ObservationCheck`` first: an implausible number is unknown (with a warning), never a count.
    func observe(
        _ request: ObservationRequest,
        view: ObservedCluster,
        reading: ClusterReading,
        sources: [any MetricSource],
        at now: Date,
        report: inout ClusterCycleReport
    ) async -> [NodeObservation]? {
        for source in sources {
            let started = clock.now
            let budget = budget(of: source)
            do {
                let answer: SourceObservation
                if let status = source as? EMQXStatusSource {
                    // The status source reads what the cycle has already read, no second GET: the EMQX object, or for an
                    // entry without one, EMQX's own /api/v5/nodes.
                    if let object = view.object {
                        answer = EMQXStatusSource.observation(
                            of: object,
                            readAt: self.now(),
                            assumedRefreshAge: status.assumedRefreshAge
                        )
                    } else if view.emqxAPI?.observation?.nodes != nil {
                        answer = SourceObservation(nodes: reading.nodes)
                    } else {
                        throw ConfigurationError(
                            "EMQX's /api/v5/nodes was not read this cycle (see the cluster's errors)"
                        )
                    }
                } else {
                    answer = try await withThrowingTimeout(budget) { try await source.observe(request) }
                }
                let observation = ObservationCheck.validate(answer, at: now)
                report.sources.append(
                    SourceAttempt(
                        source: source.kind,
                        duration: started.duration(to: clock.now),
                        warnings: observation.warnings
                    )
                )
                return observation.nodes
            } catch is TimeoutError {
                let error =
                    "the \(source.kind) source did not answer within its budget of \(DurationText.format(budget.seconds))"
                report.sources.append(
                    SourceAttempt(source: source.kind, duration: started.duration(to: clock.now), error: error)
                )
            } catch {
                report.sources.append(
                    SourceAttempt(source: source.kind, duration: started.duration(to: clock.now), error: "\(error)")
                )
            }
        }
        if !sources.isEmpty {
            report.errors.append(
                "every metric source of \(request.cluster) failed: "
                    + report.sources.compactMap { a in a.error.map { "\(a.source): \($0)" } }.joined(separator: "; ")
            )
        }
        return nil
    }

    /// Logs each cluster's plan line when it is new or changed.
    func logPlanChanges(_ reports: [ClusterCycleReport], settings: [ClusterReference: ClusterSettings]) {
        for report in reports {
            guard let line = report.planLine(sources: settings[report.cluster]?.sources.map(\.kind) ?? []) else {
                continue
            }
            let changed = loggedPlans.withLock { logged -> Bool in
                defer { logged[report.cluster] = line }
                return logged[report.cluster] != line
            }
            if changed { logger.info("cluster \(line)") }
        }
    }

    /// Drops the state of clusters no longer watched and of policies no longer loaded.
    func forgetStates(keeping clusters: Set<ClusterReference>, policies: Set<String>) {
        engineStates.withLock { states in
            states = states.filter { clusters.contains($0.key.cluster) && policies.contains($0.key.policy) }
        }
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

    func withThrowingTimeout<T: Sendable>(
        _ timeout: Duration,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
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
    public var description: String { "timed out after \(duration.text)" }
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
