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

    public func history(for cluster: ClusterReference) async throws -> ActionHistory {
        RebalanceHistory.build(from: try await api.rebalances(namespace: cluster.namespace, labelSelector: nil), for: cluster)
    }

    public func blocker(for cluster: ClusterReference) async throws -> RebalanceLifecycle.Blocker? {
        lifecycle.blocker(try await api.rebalances(namespace: cluster.namespace, labelSelector: nil), for: cluster)
    }

    public func create(_ decision: DecisionRecord, on object: ClusterObject, at now: Date) async throws -> CreateResult {
        let cluster = try reference(of: object)
        let rebalance = try RebalanceFactory.make(decision, for: object)
        let existing = try await api.rebalances(namespace: cluster.namespace, labelSelector: nil)
        if let own = existing.first(where: { $0.metadata.name == rebalance.metadata.name }) {
            return .alreadyExists(own)
        }
        if let blocker = lifecycle.blocker(existing, for: cluster) {
            logger.info("\(cluster): rule \(decision.rule) blocked: \(blocker)")
            await events?.record(.rebalanceBlocked, "rule \(decision.rule) (\(decision.trigger.rawValue)) blocked: \(blocker)", on: object.objectReference, at: now)
            return .blocked(blocker)
        }
        guard canWrite() else { return .notLeader }
        return try await write(rebalance, object: object, decision: decision, at: now, note: "")
    }

    private func write(_ rebalance: Rebalance, object: ClusterObject, decision: DecisionRecord, at now: Date, note: String) async throws -> CreateResult {
        let name = rebalance.metadata.name ?? ""
        let namespace = rebalance.metadata.namespace ?? ""
        do {
            let created = try await api.createRebalance(rebalance)
            logger.notice("created Rebalance \(namespace)/\(name) for rule \(decision.rule)\(note): \(decision.formula)")
            let strategy = rebalance.spec.rebalanceStrategy
            await events?.record(
                .rebalanceCreated,
                "created Rebalance \(name)\(note) for rule \(decision.rule) (\(decision.trigger.rawValue)): \(decision.formula); connEvictRate \(strategy.connEvictRate)",
                on: object.objectReference, at: now
            )
            return .created(created)
        } catch let error as KubernetesError where error.code == .alreadyExists {
            let found = try await api.rebalance(namespace: namespace, name: name)
            logger.info("Rebalance \(namespace)/\(name) already exists: treating the create as done")
            return .alreadyExists(found)
        }
    }

    public func follow(_ object: ClusterObject, inputs: FollowInputs) async throws -> [FollowReport] {
        let cluster = try reference(of: object)
        // All of the namespace, not only ours: a running foreign Rebalance must hold back a retry.
        let rebalances = try await api.rebalances(namespace: cluster.namespace, labelSelector: nil)
        var planInputs = RebalanceLifecycle.Inputs(now: inputs.now, clusterReady: inputs.clusterReady, counts: inputs.counts)
        var actions = lifecycle.plan(rebalances, for: cluster, inputs: planInputs)
        if actions.contains(where: { if case .confirmWithEMQX = $0 { true } else { false } }) {
            planInputs.probe = await askEMQX(cluster)
            actions = lifecycle.plan(rebalances, for: cluster, inputs: planInputs)
        }
        var reports: [FollowReport] = []
        for action in actions {
            reports.append(await perform(action, rebalances: rebalances, object: object, cluster: cluster, now: inputs.now))
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
        _ action: RebalanceLifecycle.Action, rebalances: [Rebalance], object: ClusterObject, cluster: ClusterReference, now: Date
    ) async -> FollowReport {
        let reference = object.objectReference
        switch action {
        case .stuck(let name, let since):
            let minutes = Int(now.timeIntervalSince(since) / 60)
            logger.warning("\(cluster): Rebalance \(name) has not finished after \(minutes) min; it is left alone (never deleted by the agent)")
            await events?.record(.rebalanceStuck, "Rebalance \(name) not finished after \(minutes) min", on: reference, at: now)
            return FollowReport(action: action, performed: true)
        case .record(let name, let outcome, let detail, let exhausted):
            guard canWrite() else { return FollowReport(action: action, performed: false, error: "not the leader") }
            do {
                _ = try await api.patchRebalanceMetadata(
                    namespace: cluster.namespace, name: name, labels: [:],
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
                await events?.record(.rebalanceCompleted, "Rebalance \(name) \(outcome.rawValue): \(detail)", on: reference, at: now)
            case .nothingToBalance:
                await events?.record(.rebalanceCompleted, "Rebalance \(name): EMQX found nothing to balance (recorded, not retried)", on: reference, at: now)
            case .ineffective:
                await events?.record(.rebalanceIneffective, "Rebalance \(name) was ineffective: \(detail)", on: reference, at: now)
            case .failed:
                let tail = exhausted ? "; retries exhausted (\(lifecycle.configuration.maxAttempts) attempts)" : "; will be retried"
                await events?.record(.rebalanceFailed, "Rebalance \(name) failed: \(detail)\(tail)", on: reference, at: now)
            }
            return FollowReport(action: action, performed: true)
        case .retry(let failedName, let attempt):
            guard let failed = rebalances.first(where: { $0.metadata.name == failedName }),
                let decision = RebalanceMetadata.decision(of: failed)
            else {
                return FollowReport(action: action, performed: false, error: "the failed Rebalance carries no readable decision record")
            }
            guard canWrite() else { return FollowReport(action: action, performed: false, error: "not the leader") }
            do {
                let origin = failed.metadata.annotations?[RebalanceMetadata.originKey] ?? failedName
                let rebalance = try RebalanceFactory.make(decision, for: object, attempt: attempt, origin: origin)
                _ = try await write(rebalance, object: object, decision: decision, at: now,
                                    note: " (retry \(attempt - 1) of \(lifecycle.configuration.maxAttempts - 1) after \(failedName) failed)")
                return FollowReport(action: action, performed: true)
            } catch {
                logger.warning("\(cluster): cannot create the retry of \(failedName): \(error)")
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
        case .awaitOperator, .processing, .settling, .awaitMetrics, .confirmWithEMQX, .emqxStillRebalancing, .awaitReady, .retryLater:
            return FollowReport(action: action, performed: true)
        }
    }

    private func reference(of object: ClusterObject) throws -> ClusterReference {
        guard let name = object.metadata.name, let namespace = object.metadata.namespace else {
            throw RebalanceFactory.InvalidDecision(description: "the EMQX object lacks a name or namespace")
        }
        return ClusterReference(namespace: namespace, name: name, kind: object.kind)
    }
}

extension ClusterObject {
    /// The `ClusterReference` of this object (namespace and name must be set).
    public var clusterReference: ClusterReference? {
        guard let name = metadata.name, let namespace = metadata.namespace else { return nil }
        return ClusterReference(namespace: namespace, name: name, kind: kind)
    }
}
