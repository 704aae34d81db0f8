import AutorebalancerCore
import Foundation
import Kubernetes

/// The `emqxAPI` actuator behind the loop's seam: it works on the `EMQXAPIView` the cycle read (records,
/// `global_status`, nodes) and only writes.
extension EMQXAPIActuator: RebalanceActuator {
    public func act(_ decision: DecisionRecord, on cluster: ObservedCluster, at now: Date) async -> ActionReport {
        guard let view = cluster.emqxAPI else {
            return ActionReport(
                result: .failed(ActionFailure(.other, "the cluster was not read for acting through EMQX's API")),
                rule: decision.rule
            )
        }
        let planned = Self.plannedRecord(decision, cluster: cluster.reference, view: view)
        guard let observation = view.observation else {
            // Without the records, a start could duplicate one at intent: nothing is started.
            let why =
                "the EMQXRebalance records could not be listed (\(view.recordsError ?? "unknown error")); nothing is started"
            return ActionReport(result: .notMade(.blocked(why)), rule: decision.rule, object: planned)
        }
        let result = await start(
            decision,
            target: Self.target(cluster, view: view, inputs: nil, at: now),
            observation: observation,
            at: now
        )
        var report = ActionReport(
            result: result.actionResult,
            rule: decision.rule,
            object: result.record.map { ActedObject($0) } ?? planned
        )
        if case .notLeader = result { report.result = .notMade(.notLeader(wouldCreate: report.object?.description)) }
        return report
    }

    public func follow(_ cluster: ObservedCluster, inputs: FollowInputs) async -> [FollowReport] {
        guard let view = cluster.emqxAPI, let observation = view.observation else { return [] }
        var target = Self.target(cluster, view: view, inputs: inputs, at: inputs.now)
        if target.closedGate == nil, let acted = inputs.acted, let object = acted.object, Self.attempted(acted.result) {
            target.closedGate = "\(object) was started in this cycle (rule \(acted.rule))"
        }
        let byName = Dictionary(
            observation.records.map { ($0.metadata.name ?? "", $0) },
            uniquingKeysWith: { first, _ in first }
        )
        return await follow(target, observation: observation, at: inputs.now).map { step in
            var report = FollowReport(step: .record(step.action), performed: step.performed, error: step.error)
            if step.performed, case .confirm(let name, _) = step.action, let record = byName[name] {
                report.lateConfirmation = Self.lateConfirmation(record, at: inputs.now)
            }
            return report
        }
    }

    /// The actuator's target for one cycle of the loop.
    static func target(_ cluster: ObservedCluster, view: EMQXAPIView, inputs: FollowInputs?, at now: Date) -> Target {
        Target(
            cluster: cluster.reference,
            emqx: view.emqx,
            owner: view.owner,
            rebalancedNodes: view.rebalancedNodes,
            members: view.observation?.members(at: now),
            closedGate: inputs?.clusterGate,
            counts: inputs?.counts
        )
    }

    /// A start of ours that a lost answer left at intent, now shown by EMQX: the engine learns it was confirmed.
    static func lateConfirmation(_ record: EMQXRebalance, at now: Date) -> ConfirmedAction? {
        guard EMQXRebalanceLifecycle.isAutomatic(record), EMQXRebalanceLifecycle.isAtIntent(record),
            let name = record.metadata.name,
            let rule = RebalanceMetadata.decision(of: record)?.rule
                ?? record.metadata.labels?[RebalanceMetadata.ruleKey]
        else { return nil }
        return ConfirmedAction(rule: rule, name: name, at: now)
    }

    /// Whether `act` asked EMQX (or may have): a confirmed or failed start, not one that was not made.
    static func attempted(_ result: ActionResult) -> Bool {
        if case .notMade = result { return false }
        return true
    }

    /// The record a decision would write, for reports (`nil` when the decision cannot become one).
    static func plannedRecord(_ decision: DecisionRecord, cluster: ClusterReference, view: EMQXAPIView) -> ActedObject?
    {
        guard let strategy = decision.strategy, let nodes = view.rebalancedNodes, !nodes.isEmpty else { return nil }
        return ActedObject(record(for: decision, cluster: cluster, nodes: nodes, strategy: strategy, owner: view.owner))
    }
}

extension EMQXAPIActuator.StartResult {
    /// The record written, when one was.
    public var record: EMQXRebalance? {
        switch self {
        case .confirmed(let record), .unconfirmed(let record, _): record
        case .refused(let record, _): record
        case .blocked, .invalid, .notLeader, .notRecorded: nil
        }
    }
}

extension ActedObject {
    /// The record as the report names it.
    public init(_ record: EMQXRebalance) {
        let spec = (try? String(decoding: JSONEncoder().encode(record.spec), as: UTF8.self)) ?? ""
        self.init(
            kind: EMQXRebalance.kind,
            namespace: record.metadata.namespace ?? "",
            name: record.metadata.name ?? "",
            spec: spec
        )
    }
}
