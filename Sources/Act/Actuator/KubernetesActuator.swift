import AutorebalancerCore
import Foundation
import Kubernetes
import Logging

/// Creates and follows Rebalances through the Kubernetes API. Every write first checks `canWrite` (the leader gate),
/// so a replica that lost the Lease stops writing at once.
public struct KubernetesActuator: RebalanceActuator {
    public let api: any KubernetesAPI
    public let lifecycle: RebalanceLifecycle
    public let events: EventRecorder?
    public let probe: (any EMQXRebalanceStatusProbe)?
    private let canWrite: @Sendable () -> Bool
    private let logger: Logger

    /// - Parameters:
    ///   - canWrite: the leader gate (`{ elector.isLeader }`), checked before every write.
    ///   - events: where Events go (`nil`: none).
    ///   - probe: EMQX's `global_status`, to confirm `Failed ... not ready` on EMQX 5 (`nil`: wait for Ready instead).
    public init(
        api: any KubernetesAPI,
        lifecycle: RebalanceLifecycle = RebalanceLifecycle(),
        events: EventRecorder?,
        probe: (any EMQXRebalanceStatusProbe)?,
        canWrite: @escaping @Sendable () -> Bool,
        logger: Logger
    ) {
        self.api = api
        self.lifecycle = lifecycle
        self.events = events
        self.probe = probe
        self.canWrite = canWrite
        self.logger = logger
    }

    public func act(_ decision: DecisionRecord, on cluster: ObservedCluster, at now: Date) async -> ActionReport {
        guard let clusterObject = cluster.object, let (rebalance, object) = RebalanceFactory.make(decision, on: cluster)
        else {
            return .unbuildable(decision, on: cluster)
        }
        if let own = cluster.rebalances?.first(where: { $0.metadata.name == rebalance.metadata.name }) {
            return ActionReport(
                result: .confirmed(name: own.metadata.name ?? object.name),
                rule: decision.rule,
                object: object,
                alreadyExisted: true
            )
        }
        if let blocker = cluster.blocker {
            logger.info("\(cluster.reference): rule \(decision.rule) blocked: \(blocker)")
            await events?.record(
                .rebalanceBlocked,
                "rule \(decision.rule) (\(decision.trigger.rawValue)) blocked: \(blocker)",
                on: clusterObject.objectReference,
                at: now
            )
            return ActionReport(result: .notMade(.blocked("\(blocker)")), rule: decision.rule, object: object)
        }
        guard canWrite() else {
            return ActionReport(
                result: .notMade(.notLeader(wouldCreate: object.description)),
                rule: decision.rule,
                object: object
            )
        }
        do {
            let (created, existed) = try await write(
                rebalance,
                object: clusterObject,
                decision: decision,
                at: now,
                note: ""
            )
            return ActionReport(
                result: .confirmed(name: created.metadata.name ?? object.name),
                rule: decision.rule,
                object: object,
                alreadyExisted: existed
            )
        } catch {
            let failure = Self.classify(error)
            logger.warning("\(cluster.reference): cannot create \(object) for rule \(decision.rule): \(failure)")
            return ActionReport(result: .failed(failure), rule: decision.rule, object: object)
        }
    }

    /// Creates `rebalance`; our own name existing already counts as done. - Returns: the object and whether it existed.
    private func write(
        _ rebalance: Rebalance,
        object: ClusterObject,
        decision: DecisionRecord,
        at now: Date,
        note: String
    ) async throws -> (Rebalance, Bool) {
        let name = rebalance.metadata.name ?? ""
        let namespace = rebalance.metadata.namespace ?? ""
        do {
            let created = try await api.createRebalance(rebalance)
            logger.notice(
                "created Rebalance \(namespace)/\(name) for rule \(decision.rule)\(note): \(decision.formula)"
            )
            let strategy = rebalance.spec.rebalanceStrategy
            await events?.record(
                .rebalanceCreated,
                "created Rebalance \(name)\(note) for rule \(decision.rule) (\(decision.trigger.rawValue)): \(decision.formula); connEvictRate \(strategy.connEvictRate)",
                on: object.objectReference,
                at: now
            )
            return (created, false)
        } catch let error as KubernetesError where error.code == .alreadyExists {
            let found = try await api.rebalance(namespace: namespace, name: name)
            logger.info("Rebalance \(namespace)/\(name) already exists: treating the create as done")
            return (found, true)
        }
    }

    /// The failure class of a create that threw.
    static func classify(_ error: any Error) -> ActionFailure {
        guard let error = error as? KubernetesError else { return ActionFailure(.other, "\(error)") }
        let kind: ActionFailure.Kind
        switch error.code {
        case .forbidden: kind = .forbidden
        case .unauthorized: kind = .unauthorized
        case .invalid: kind = .invalid
        case .conflict: kind = .conflict
        case .unavailable: kind = error.timedOut ? .timeout : .unavailable
        default: kind = .other
        }
        return ActionFailure(kind, "\(error)")
    }

    public func follow(_ cluster: ObservedCluster, inputs: FollowInputs) async -> [FollowReport] {
        // All of the namespace, not only ours: a running foreign Rebalance must hold back a retry.
        guard let rebalances = cluster.rebalances, let object = cluster.object else { return [] }
        var planInputs = RebalanceLifecycle.Inputs(
            now: inputs.now,
            clusterReady: inputs.clusterReady,
            counts: inputs.counts
        )
        var actions = lifecycle.plan(rebalances, for: cluster.reference, inputs: planInputs)
        if actions.contains(where: { if case .confirmWithEMQX = $0 { true } else { false } }) {
            planInputs.probe = await askEMQX(cluster.reference)
            actions = lifecycle.plan(rebalances, for: cluster.reference, inputs: planInputs)
        }
        var reports: [FollowReport] = []
        for action in actions {
            reports.append(
                await perform(
                    action,
                    rebalances: rebalances,
                    object: object,
                    cluster: cluster.reference,
                    now: inputs.now
                )
            )
        }
        return reports
    }

    private func askEMQX(_ cluster: ClusterReference) async -> RebalanceLifecycle.ProbeAnswer {
        guard let probe else { return .unreachable("no EMQX API configured") }
        do {
            return try await probe.isRebalancing(cluster) ? .running : .idle
        } catch {
            logger.info("\(cluster): cannot ask EMQX whether it still rebalances (\(error)); waiting for Ready instead")
            return .unreachable("\(error)")
        }
    }

    private func perform(
        _ action: RebalanceLifecycle.Action,
        rebalances: [Rebalance],
        object: ClusterObject,
        cluster: ClusterReference,
        now: Date
    ) async -> FollowReport {
        let reference = object.objectReference
        switch action {
        case .stuck(let name, let since):
            let minutes = Int(now.timeIntervalSince(since) / 60)
            logger.warning(
                "\(cluster): Rebalance \(name) has not finished after \(minutes) min; it is left alone (never deleted by the agent)"
            )
            await events?.record(
                .rebalanceStuck,
                "Rebalance \(name) not finished after \(minutes) min",
                on: reference,
                at: now
            )
            return FollowReport(action: action, performed: true)
        case .record(let name, let outcome, let detail, let exhausted):
            guard canWrite() else { return FollowReport(action: action, performed: false, error: "not the leader") }
            do {
                _ = try await api.patchRebalanceMetadata(
                    namespace: cluster.namespace,
                    name: name,
                    labels: [:],
                    annotations: [
                        RebalanceMetadata.outcomeKey: outcome.rawValue,
                        RebalanceMetadata.outcomeDetailKey: String(detail.prefix(4000)),
                        RebalanceMetadata.judgedAtKey: KubernetesTime.format(now),
                    ]
                )
            } catch {
                logger.warning("\(cluster): cannot record outcome \(outcome.rawValue) on Rebalance \(name): \(error)")
                return FollowReport(action: action, performed: false, error: "\(error)")
            }
            logger.notice("\(cluster): Rebalance \(name) outcome \(outcome.rawValue): \(detail)")
            switch outcome {
            case .balanced, .improved:
                await events?.record(
                    .rebalanceCompleted,
                    "Rebalance \(name) \(outcome.rawValue): \(detail)",
                    on: reference,
                    at: now
                )
            case .nothingToBalance:
                await events?.record(
                    .rebalanceCompleted,
                    "Rebalance \(name): EMQX found nothing to balance (recorded, not retried)",
                    on: reference,
                    at: now
                )
            case .ineffective:
                await events?.record(
                    .rebalanceIneffective,
                    "Rebalance \(name) was ineffective: \(detail)",
                    on: reference,
                    at: now
                )
            case .failed:
                let tail =
                    exhausted
                    ? "; retries exhausted (\(lifecycle.configuration.maxAttempts) attempts)" : "; will be retried"
                await events?.record(
                    .rebalanceFailed,
                    "Rebalance \(name) failed: \(detail)\(tail)",
                    on: reference,
                    at: now
                )
            }
            return FollowReport(action: action, performed: true)
        case .retry(let failedName, let attempt):
            guard let failed = rebalances.first(where: { $0.metadata.name == failedName }),
                let decision = RebalanceMetadata.decision(of: failed)
            else {
                return FollowReport(
                    action: action,
                    performed: false,
                    error: "the failed Rebalance carries no readable decision record"
                )
            }
            guard canWrite() else { return FollowReport(action: action, performed: false, error: "not the leader") }
            do {
                let origin = failed.metadata.annotations?[RebalanceMetadata.originKey] ?? failedName
                let rebalance = try RebalanceFactory.make(decision, for: object, attempt: attempt, origin: origin)
                _ = try await write(
                    rebalance,
                    object: object,
                    decision: decision,
                    at: now,
                    note:
                        " (retry \(attempt - 1) of \(lifecycle.configuration.maxAttempts - 1) after \(failedName) failed)"
                )
                return FollowReport(action: action, performed: true)
            } catch {
                logger.warning("\(cluster): cannot create the retry of \(failedName): \(error)")
                return FollowReport(action: action, performed: false, error: "\(error)")
            }
        case .markStopped(let name, let at):
            guard canWrite() else { return FollowReport(action: action, performed: false, error: "not the leader") }
            do {
                _ = try await api.patchRebalanceMetadata(
                    namespace: cluster.namespace,
                    name: name,
                    labels: [:],
                    annotations: [RebalanceMetadata.stoppedAtKey: KubernetesTime.format(at)]
                )
                logger.info("\(cluster): EMQX has stopped rebalancing for \(name); judging after the settle time")
                return FollowReport(action: action, performed: true)
            } catch {
                logger.warning("\(cluster): cannot record when EMQX stopped rebalancing for \(name): \(error)")
                return FollowReport(action: action, performed: false, error: "\(error)")
            }
        case .delete(let name):
            guard canWrite() else { return FollowReport(action: action, performed: false, error: "not the leader") }
            do {
                try await api.deleteRebalance(namespace: cluster.namespace, name: name)
                logger.info("\(cluster): deleted old finished Rebalance \(name)")
                return FollowReport(action: action, performed: true)
            } catch let error as KubernetesError where error.code == .notFound {
                return FollowReport(action: action, performed: true)
            } catch {
                logger.warning("\(cluster): cannot delete old Rebalance \(name): \(error)")
                return FollowReport(action: action, performed: false, error: "\(error)")
            }
        case .awaitOperator, .processing, .settling, .awaitMetrics, .confirmWithEMQX, .emqxStillRebalancing,
            .awaitReady, .retryLater:
            return FollowReport(action: action, performed: true)
        }
    }
}

extension ClusterObject {
    /// The `ClusterReference` of this object (namespace and name must be set).
    public var clusterReference: ClusterReference? {
        guard let name = metadata.name, let namespace = metadata.namespace else { return nil }
        return ClusterReference(namespace: namespace, name: name, kind: kind)
    }
}

extension ActedObject {
    /// The Rebalance as the report names it.
    public init(_ rebalance: Rebalance) {
        let spec = (try? String(decoding: JSONEncoder().encode(rebalance.spec), as: UTF8.self)) ?? ""
        self.init(
            kind: "Rebalance",
            namespace: rebalance.metadata.namespace ?? "",
            name: rebalance.metadata.name ?? "",
            spec: spec
        )
    }
}
