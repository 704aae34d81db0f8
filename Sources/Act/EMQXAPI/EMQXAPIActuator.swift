import AutorebalancerCore
import Foundation
import Kubernetes
import Logging

/// Acts through EMQX's own load_rebalance API, keeping an `EMQXRebalance` record per action: the way to act where
/// the operator serves no `Rebalance` (Operator 3.0, Helm-installed or hand-made clusters).
///
/// Order of writes for a decision: create the record (its existence is the intent), write `Starting`, call `start`
/// **once**, write what EMQX answered. Every write first checks `canWrite` (the leader gate). What a crash or a lost
/// answer leaves behind is reconciled by `follow` from `global_status` (see `EMQXRebalanceLifecycle`).
public struct EMQXAPIActuator: Sendable {
    /// One cluster, this cycle.
    public struct Target: Sendable {
        public var cluster: ClusterReference
        public var emqx: any EMQXRebalanceAPI
        /// The EMQX object, when there is one: records are owned by it (deleting the cluster deletes them).
        public var owner: OwnerReference?
        /// The cluster's rebalanced node set (replicants if any, else cores), in the order EMQX lists them.
        public var rebalancedNodes: [String]?
        public var members: [String: EMQXRebalanceLifecycle.Member]?
        /// `nil` when every cluster gate is open (for manual runs), else why not.
        public var closedGate: String?
        public var counts: [BalanceMath.NodeCounts]?

        public init(
            cluster: ClusterReference,
            emqx: any EMQXRebalanceAPI,
            owner: OwnerReference? = nil,
            rebalancedNodes: [String]? = nil,
            members: [String: EMQXRebalanceLifecycle.Member]? = nil,
            closedGate: String? = nil,
            counts: [BalanceMath.NodeCounts]? = nil
        ) {
            self.cluster = cluster
            self.emqx = emqx
            self.owner = owner
            self.rebalancedNodes = rebalancedNodes
            self.members = members
            self.closedGate = closedGate
            self.counts = counts
        }
    }

    /// The cycle's one read of the cluster's records and of EMQX: history, gates and follow-up all use it.
    public struct Observation: Sendable, Hashable {
        public var records: [EMQXRebalance]
        /// Records that do not decode, by name, with the field at fault.
        public var invalid: [StoredEMQXRebalance]
        public var emqx: EMQXRebalanceLifecycle.EMQXView
        /// EMQX's `GET /api/v5/nodes`: membership for aborts and manual runs, and, for a cluster without an EMQX
        /// object, the nodes themselves; `nil` when it could not be read (`nodesError`), or was not asked because
        /// `global_status` refused the credentials.
        public var nodes: LoadRebalance.NodeSet?
        public var nodesError: String?

        public init(
            records: [EMQXRebalance],
            invalid: [StoredEMQXRebalance],
            emqx: EMQXRebalanceLifecycle.EMQXView,
            nodes: LoadRebalance.NodeSet? = nil,
            nodesError: String? = nil
        ) {
            self.records = records
            self.invalid = invalid
            self.emqx = emqx
            self.nodes = nodes
            self.nodesError = nodesError
        }

        /// Cluster members by node name, from `/api/v5/nodes`: running, and since when.
        public func members(at now: Date) -> [String: EMQXRebalanceLifecycle.Member]? {
            guard let nodes else { return nil }
            let starts = nodes.startTimes(at: now)
            return Dictionary(
                nodes.nodes.map {
                    ($0.node, EMQXRebalanceLifecycle.Member(running: $0.isRunning, startedAt: starts[$0.node]))
                },
                uniquingKeysWith: { first, _ in first }
            )
        }

        /// Why EMQX or our records forbid a new rebalance now, or `nil`.
        public func blocker(_ lifecycle: EMQXRebalanceLifecycle) -> String? {
            if let own = lifecycle.blocker(records) { return own }
            switch emqx {
            case .status(let status): return status.blockingReason
            case .unknown(let why): return "cannot ask EMQX whether a rebalance runs: \(why)"
            }
        }

        /// The records as the engine's history (cooldowns, limits), like `Rebalance`s.
        public var history: [PastRebalance] { EMQXRebalanceHistory.past(records) }
    }

    /// What `start` did.
    public enum StartResult: Sendable, Hashable {
        /// EMQX answered 200: the rebalance runs.
        case confirmed(EMQXRebalance)
        /// The record is written but EMQX's answer was lost (5xx, no answer): `follow` confirms it from
        /// `global_status` or fails it after one cycle. Never started again.
        case unconfirmed(EMQXRebalance, reason: String)
        /// EMQX refused (`nothing_to_balance`, `already_started`, credentials, …): nothing runs; the record is `Failed`.
        case refused(EMQXRebalance?, LoadRebalance.Failure)
        /// Nothing written: another rebalance (ours or not) or EMQX's state blocks it.
        case blocked(String)
        /// Nothing written: the decision cannot become a request (the field is named).
        case invalid(String)
        case notLeader
        /// The record could not be written: EMQX was not called.
        case notRecorded(String)
    }

    /// One lifecycle action and whether it was carried out.
    public struct Step: Sendable, Hashable {
        public var action: EMQXRebalanceLifecycle.Action
        public var performed: Bool
        public var error: String?
    }

    public let store: any EMQXRebalanceStore
    public let lifecycle: EMQXRebalanceLifecycle
    public let events: EventRecorder?
    private let canWrite: @Sendable () -> Bool
    private let logger: Logger

    public init(
        store: any EMQXRebalanceStore,
        lifecycle: EMQXRebalanceLifecycle = .init(),
        events: EventRecorder?,
        canWrite: @escaping @Sendable () -> Bool,
        logger: Logger
    ) {
        self.store = store
        self.lifecycle = lifecycle
        self.events = events
        self.canWrite = canWrite
        self.logger = logger
    }

    // MARK: Observe

    /// Reads the cluster's records (one LIST), EMQX's `global_status` and `/api/v5/nodes` (one GET each).
    public func observe(_ target: Target) async throws -> Observation {
        try await Self.observe(target.cluster, emqx: target.emqx, store: store)
    }

    /// Reads the cluster's records (one LIST), EMQX's `global_status` and `/api/v5/nodes` (one GET each). EMQX's
    /// failures are in the observation; only a failed LIST throws.
    public static func observe(
        _ cluster: ClusterReference,
        emqx: any EMQXRebalanceAPI,
        store: any EMQXRebalanceStore
    ) async throws -> Observation {
        let stored = try await store.emqxRebalances(namespace: cluster.namespace)
        var records: [EMQXRebalance] = []
        var invalid: [StoredEMQXRebalance] = []
        for item in stored {
            switch item {
            case .valid(let record) where record.spec.cluster == cluster.name: records.append(record)
            case .valid: continue
            case .invalid: invalid.append(item)
            }
        }
        var observation = Observation(records: records, invalid: invalid, emqx: .unknown("not asked"))
        do {
            observation.emqx = .status(try await emqx.globalStatus())
        } catch {
            observation.emqx = .unknown(error.description)
            // A refused key is refused on every route: one clear error per cycle, not a second request saying the same.
            if error.isCredentialProblem { return observation }
        }
        do {
            observation.nodes = LoadRebalance.NodeSet(try await emqx.nodes())
        } catch {
            observation.nodesError = error.description
        }
        return observation
    }

    // MARK: Act on a decision

    public func start(
        _ decision: DecisionRecord,
        target: Target,
        observation: Observation,
        at now: Date
    ) async -> StartResult {
        let cluster = target.cluster
        if let blocker = observation.blocker(lifecycle) {
            logger.info("\(cluster): rule \(decision.rule) blocked: \(blocker)")
            return .blocked(blocker)
        }
        guard let strategy = decision.strategy else {
            return .invalid("decision of rule \(decision.rule) has no strategy")
        }
        guard let nodes = target.rebalancedNodes, !nodes.isEmpty else {
            return .invalid("the cluster's node set is unknown")
        }
        let request: LoadRebalance.StartRequest
        switch LoadRebalance.StartRequest.make(
            strategy: strategy,
            nodes: nodes,
            fieldPrefix: "rule \(decision.rule) strategy"
        ) {
        case .failure(let problems): return .invalid(problems.description)
        case .success(let made): request = made
        }
        guard canWrite() else { return .notLeader }
        let record = Self.record(for: decision, cluster: cluster, nodes: nodes, strategy: strategy, owner: target.owner)
        let name = record.metadata.name ?? ""
        let created: EMQXRebalance
        do {
            created = try await store.createEMQXRebalance(record)
        } catch let error as KubernetesError where error.code == .alreadyExists {
            // An earlier attempt of this very decision wrote it: that attempt is the one `follow` reconciles.
            logger.info("\(cluster): EMQXRebalance \(name) exists already; it is followed, not started again")
            return .unconfirmed(record, reason: "the record of this decision exists already")
        } catch {
            logger.warning("\(cluster): cannot write EMQXRebalance \(name), so EMQX is not asked: \(error)")
            return .notRecorded("\(error)")
        }
        let coordinator = request.nodes[0]
        return await call(
            start: request,
            coordinator: coordinator,
            record: created,
            target: target,
            note: "rule \(decision.rule): \(decision.formula)",
            at: now
        )
    }

    /// Writes the intent, calls `start` once and records what EMQX answered.
    private func call(
        start request: LoadRebalance.StartRequest,
        coordinator: String,
        record: EMQXRebalance,
        target: Target,
        note: String,
        at now: Date
    ) async -> StartResult {
        let cluster = target.cluster
        let name = record.metadata.name ?? ""
        let intent = EMQXRebalanceStatus(
            phase: .starting,
            reason: "asking EMQX to start",
            coordinator: coordinator,
            nodes: request.nodes,
            requestedTime: KubernetesTime.format(now),
            observedGeneration: record.metadata.generation
        )
        guard await patch(record, status: intent, cluster: cluster) else {
            return .notRecorded("the intent could not be written to EMQXRebalance \(name)")
        }
        do {
            try await target.emqx.start(coordinator: coordinator, request)
        } catch let failure where !failure.provesNothingStarted {
            let reason = "start answer lost (\(failure)); confirming from EMQX's global_status"
            logger.warning("\(cluster): EMQXRebalance \(name): \(reason)")
            _ = await patch(record, status: .init(phase: .starting, reason: reason), cluster: cluster)
            await events?.record(
                .rebalanceFailed,
                "EMQXRebalance \(name): \(reason)",
                on: Self.reference(record),
                at: now
            )
            return .unconfirmed(record, reason: reason)
        } catch {
            let reason = "EMQX refused to start: \(error)"
            logger.warning("\(cluster): EMQXRebalance \(name): \(reason)")
            _ = await patch(
                record,
                status: .init(phase: .failed, reason: reason, completedTime: KubernetesTime.format(now)),
                cluster: cluster
            )
            if case .nothingToBalance = error {
                _ = await annotate(
                    record,
                    outcome: .nothingToBalance,
                    detail: error.description,
                    at: now,
                    cluster: cluster
                )
            }
            await release(record, cluster: cluster)
            await events?.record(
                .rebalanceFailed,
                "EMQXRebalance \(name): \(reason)",
                on: Self.reference(record),
                at: now
            )
            return .refused(record, error)
        }
        logger.notice("\(cluster): started EMQXRebalance \(name) through EMQX (coordinator \(coordinator)) for \(note)")
        let running = EMQXRebalanceStatus(
            phase: .running,
            reason: "EMQX accepted the start",
            startedTime: KubernetesTime.format(now)
        )
        _ = await patch(record, status: running, cluster: cluster)
        await events?.record(
            .rebalanceCreated,
            "started EMQXRebalance \(name) through EMQX's API (coordinator \(coordinator), connEvictRate \(request.connEvictRate)) for \(note)",
            on: Self.reference(record),
            at: now
        )
        return .confirmed(record)
    }

    // MARK: Follow

    /// Reconciles the cluster's records with EMQX: confirms, finishes, fails unconfirmed intents, carries out
    /// manual runs, stops deleted ones, judges outcomes, deletes old ones. Records that do not decode are failed
    /// naming the field.
    public func follow(_ target: Target, observation: Observation, at now: Date) async -> [Step] {
        var steps: [Step] = []
        let inputs = EMQXRebalanceLifecycle.Inputs(
            now: now,
            emqx: observation.emqx,
            closedGate: target.closedGate,
            rebalancedNodes: target.rebalancedNodes,
            members: target.members,
            counts: target.counts
        )
        let byName = Dictionary(
            observation.records.map { ($0.metadata.name ?? "", $0) },
            uniquingKeysWith: { first, _ in first }
        )
        for item in observation.invalid {
            guard case .invalid(let name, let field, let problem) = item else { continue }
            let action = EMQXRebalanceLifecycle.Action.reject(
                name,
                reason: "invalid spec: \(field.isEmpty ? "" : "\(field): ")\(problem)"
            )
            steps.append(await perform(action, record: nil, target: target, at: now))
        }
        for action in lifecycle.plan(observation.records, inputs: inputs) {
            steps.append(await perform(action, record: byName[action.record], target: target, at: now))
        }
        return steps
    }

    private func perform(
        _ action: EMQXRebalanceLifecycle.Action,
        record: EMQXRebalance?,
        target: Target,
        at now: Date
    ) async -> Step {
        let cluster = target.cluster
        let name = action.record
        let namespace = cluster.namespace
        let reference =
            record.map(Self.reference)
            ?? ObjectReference(
                apiVersion: EMQXRebalance.apiVersion,
                kind: EMQXRebalance.kind,
                name: name,
                namespace: namespace
            )
        func done(_ ok: Bool = true, _ error: String? = nil) -> Step {
            Step(action: action, performed: ok, error: error)
        }
        switch action {
        case .awaitConfirmation, .running, .awaitEMQX, .settling, .awaitMetrics:
            return done()
        case .stuck(_, let since):
            let minutes = Int(max(0, min(now.timeIntervalSince(since), 1e9)) / 60)
            logger.warning("\(cluster): EMQXRebalance \(name) not finished after \(minutes) min")
            await events?.record(
                .rebalanceStuck,
                "EMQXRebalance \(name) not finished after \(minutes) min",
                on: reference,
                at: now
            )
            return done()
        default:
            break
        }
        guard canWrite() else { return done(false, "not the leader") }
        switch action {
        case .start(_, let coordinator, let request):
            guard let record else { return done(false, "record vanished") }
            var finalizers = record.metadata.finalizers ?? []
            if !finalizers.contains(EMQXRebalance.finalizer) {
                finalizers.append(EMQXRebalance.finalizer)
                do {
                    _ = try await store.patchEMQXRebalanceMetadata(
                        namespace: namespace,
                        name: name,
                        annotations: [:],
                        finalizers: finalizers
                    )
                } catch {
                    return done(false, "cannot add the finalizer: \(error)")
                }
            }
            let result = await call(
                start: request,
                coordinator: coordinator,
                record: record,
                target: target,
                note: "a manual run",
                at: now
            )
            if case .notRecorded(let why) = result { return done(false, why) }
            return done()
        case .hold(_, let reason):
            if record?.status?.phaseValue == .pending, record?.status?.reason == reason { return done() }
            logger.info("\(cluster): EMQXRebalance \(name) pending: \(reason)")
            return done(await patch(name, status: .init(phase: .pending, reason: reason), cluster: cluster))
        case .reject(_, let reason):
            if record?.status?.phaseValue == .failed { return done() }
            logger.warning("\(cluster): EMQXRebalance \(name): \(reason)")
            await events?.record(.rebalanceFailed, "EMQXRebalance \(name): \(reason)", on: reference, at: now)
            return done(await patch(name, status: .init(phase: .failed, reason: reason), cluster: cluster))
        case .confirm(_, let entry):
            var status = EMQXRebalanceStatus(
                phase: .running,
                reason: "EMQX reports it (\(entry.state ?? "state unknown"))",
                coordinator: entry.coordinatorNode ?? entry.node,
                donors: entry.donors,
                recipients: entry.recipients,
                emqxState: entry.state,
                connectionEvictionRate: entry.connectionEvictionRate,
                sessionEvictionRate: entry.sessionEvictionRate
            )
            if record?.status?.startedTime == nil { status.startedTime = KubernetesTime.format(now) }
            if record?.status?.phaseValue != .running {
                logger.notice("\(cluster): EMQXRebalance \(name) confirmed by EMQX's global_status")
            }
            return done(await patch(name, status: status, cluster: cluster))
        case .unconfirmed(_, let reason), .finished(_, let reason?):
            logger.warning("\(cluster): EMQXRebalance \(name) failed: \(reason)")
            let ok = await patch(
                name,
                status: .init(phase: .failed, reason: reason, completedTime: KubernetesTime.format(now)),
                cluster: cluster
            )
            if let record { await release(record, cluster: cluster) }
            await events?.record(.rebalanceFailed, "EMQXRebalance \(name) failed: \(reason)", on: reference, at: now)
            return done(ok)
        case .finished(_, nil):
            logger.notice(
                "\(cluster): EMQXRebalance \(name): EMQX reports no rebalance any more; judging from metrics after the settle time"
            )
            let ok = await patch(
                name,
                status: .init(
                    phase: .completed,
                    reason: "EMQX finished",
                    emqxState: "",
                    completedTime: KubernetesTime.format(now)
                ),
                cluster: cluster
            )
            if let record { await release(record, cluster: cluster) }
            return done(ok)
        case .judge(_, let outcome, let detail):
            guard let record else { return done(false, "record vanished") }
            let ok = await annotate(record, outcome: outcome, detail: detail, at: now, cluster: cluster)
            if ok {
                logger.notice("\(cluster): EMQXRebalance \(name) outcome \(outcome.rawValue): \(detail)")
                let reason: EventRecorder.Reason =
                    outcome == .ineffective
                    ? .rebalanceIneffective : (outcome == .failed ? .rebalanceFailed : .rebalanceCompleted)
                await events?.record(
                    reason,
                    "EMQXRebalance \(name) \(outcome.rawValue): \(detail)",
                    on: reference,
                    at: now
                )
            }
            return done(ok)
        case .stop(_, let coordinator):
            do {
                try await target.emqx.stop(coordinator: coordinator)
            } catch let failure where failure.reasonClass == "not-started" {
                // Finished meanwhile: nothing to stop.
            } catch {
                return done(false, "cannot stop EMQX's rebalance: \(error)")
            }
            logger.notice("\(cluster): EMQXRebalance \(name) deleted: stopped EMQX's rebalance on \(coordinator)")
            if let record { await release(record, cluster: cluster) }
            return done()
        case .release:
            if let record { await release(record, cluster: cluster) }
            return done()
        case .delete:
            do {
                try await store.deleteEMQXRebalance(namespace: namespace, name: name)
                return done()
            } catch let error as KubernetesError where error.code == .notFound {
                return done()
            } catch {
                return done(false, "\(error)")
            }
        case .awaitConfirmation, .running, .awaitEMQX, .settling, .awaitMetrics, .stuck:
            return done()
        }
    }

    // MARK: Writes

    private func patch(_ record: EMQXRebalance, status: EMQXRebalanceStatus, cluster: ClusterReference) async -> Bool {
        await patch(record.metadata.name ?? "", status: status, cluster: cluster)
    }

    private func patch(_ name: String, status: EMQXRebalanceStatus, cluster: ClusterReference) async -> Bool {
        guard canWrite() else { return false }
        var status = status
        if let reason = status.reason { status.reason = String(reason.prefix(4000)) }
        do {
            _ = try await store.patchEMQXRebalanceStatus(namespace: cluster.namespace, name: name, status: status)
            return true
        } catch {
            logger.warning("\(cluster): cannot write the status of EMQXRebalance \(name): \(error)")
            return false
        }
    }

    private func annotate(
        _ record: EMQXRebalance,
        outcome: RebalanceOutcome,
        detail: String,
        at now: Date,
        cluster: ClusterReference
    ) async -> Bool {
        guard canWrite() else { return false }
        do {
            _ = try await store.patchEMQXRebalanceMetadata(
                namespace: cluster.namespace,
                name: record.metadata.name ?? "",
                annotations: [
                    RebalanceMetadata.outcomeKey: outcome.rawValue,
                    RebalanceMetadata.outcomeDetailKey: String(detail.prefix(4000)),
                    RebalanceMetadata.judgedAtKey: KubernetesTime.format(now),
                ],
                finalizers: nil
            )
            return true
        } catch {
            logger.warning(
                "\(cluster): cannot record outcome \(outcome.rawValue) on EMQXRebalance \(record.metadata.name ?? ""): \(error)"
            )
            return false
        }
    }

    /// Removes our finalizer: nothing of EMQX's remains to stop.
    private func release(_ record: EMQXRebalance, cluster: ClusterReference) async {
        guard canWrite(), let finalizers = record.metadata.finalizers, finalizers.contains(EMQXRebalance.finalizer)
        else { return }
        do {
            _ = try await store.patchEMQXRebalanceMetadata(
                namespace: cluster.namespace,
                name: record.metadata.name ?? "",
                annotations: [:],
                finalizers: finalizers.filter { $0 != EMQXRebalance.finalizer }
            )
        } catch let error as KubernetesError where error.code == .notFound {
        } catch {
            logger.warning(
                "\(cluster): cannot release the finalizer of EMQXRebalance \(record.metadata.name ?? ""): \(error)"
            )
        }
    }

    // MARK: Records

    /// The record of a decision: deterministic name, the labels, decision annotation and ownerReference of our
    /// `Rebalance`s, our finalizer, and the node set and strategy it will send.
    public static func record(
        for decision: DecisionRecord,
        cluster: ClusterReference,
        nodes: [String],
        strategy: RebalanceStrategy,
        owner: OwnerReference?
    ) -> EMQXRebalance {
        var metadata = ObjectMeta(
            name: RebalanceNaming.name(cluster: cluster.name, trigger: decision.trigger, at: decision.time),
            namespace: cluster.namespace,
            labels: RebalanceMetadata.labels(cluster: cluster.name, rule: decision.rule, trigger: decision.trigger),
            annotations: [RebalanceMetadata.decisionKey: decision.jsonLine(), RebalanceMetadata.attemptKey: "1"]
        )
        if let owner { metadata.ownerReferences = [owner] }
        metadata.finalizers = [EMQXRebalance.finalizer]
        return EMQXRebalance(metadata: metadata, spec: .init(cluster: cluster.name, nodes: nodes, strategy: strategy))
    }

    static func reference(_ record: EMQXRebalance) -> ObjectReference {
        ObjectReference(
            apiVersion: EMQXRebalance.apiVersion,
            kind: EMQXRebalance.kind,
            name: record.metadata.name,
            namespace: record.metadata.namespace,
            uid: record.metadata.uid
        )
    }
}

extension EMQXAPIActuator.StartResult {
    /// What the rule state machine `confirm`s. A start whose answer was lost is not counted as done: it is a failed
    /// attempt (`unavailable`) whose retries the record at intent blocks until `follow` has confirmed or failed it, so
    /// EMQX is never asked twice and no cooldown starts for a rebalance that may not exist.
    public var actionResult: ActionResult {
        switch self {
        case .confirmed(let record):
            return .confirmed(name: record.metadata.name ?? "")
        case .unconfirmed(_, let reason):
            return .failed(ActionFailure(.unavailable, reason))
        case .refused(_, let failure):
            let kind: ActionFailure.Kind
            switch failure {
            case .unauthorized, .noCredentials: kind = .unauthorized
            case .forbidden: kind = .forbidden
            case .badRequest, .nodesUnavailable, .nothingToBalance, .alreadyStarted, .notStarted: kind = .invalid
            case .server, .unreachable: kind = .unavailable
            case .apiNotFound, .unexpected: kind = .other
            }
            return .failed(ActionFailure(kind, failure.description))
        case .blocked(let reason):
            return .notMade(.blocked(reason))
        case .invalid(let reason):
            return .failed(ActionFailure(.invalid, reason))
        case .notLeader:
            return .notMade(.notLeader(wouldCreate: nil))
        case .notRecorded(let reason):
            return .failed(
                ActionFailure(
                    .unavailable,
                    "the EMQXRebalance record could not be written, so EMQX was not asked: \(reason)"
                )
            )
        }
    }
}
