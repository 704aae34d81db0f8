import AutorebalancerCore
import Foundation
import Kubernetes

/// One way of acting on a cluster: the operator's `Rebalance` resource (`KubernetesActuator`), nothing at all
/// (`DryRunActuator`), and later EMQX's own API. The loop chooses one per cluster and cycle (``ActuatorChoice``).
///
/// An actuator reads nothing: it works on the ``ObservedCluster`` the loop read at the start of the cycle, and only
/// writes. Its answer is what the rule state machine `confirm`s: only a confirmed action starts a cooldown or counts
/// toward a limit.
public protocol RebalanceActuator: Sendable {
    /// Carries out a decided rebalance. Idempotent: the name is deterministic and our own name existing already is
    /// a confirmation. Never throws: a failure is a result (`failed`, classified).
    func act(_ decision: DecisionRecord, on cluster: ObservedCluster, at now: Date) async -> ActionReport

    /// Follows the cluster's Rebalances of ours: judges outcomes, records them, retries ordinary failures, reports
    /// stuck ones, deletes old finished ones. Returns one report per action planned.
    func follow(_ cluster: ObservedCluster, inputs: FollowInputs) async -> [FollowReport]
}

/// What an actuator did with one decided rebalance: the result the engine confirms, and what was (or would have
/// been) written, for logs, metrics and `run --once`.
public struct ActionReport: Sendable, Hashable {
    public var result: ActionResult
    /// The rule the decision came from.
    public var rule: String
    /// What was written, found, or would have been written.
    public var object: ActedObject?
    /// `true` when our deterministic name existed already (an earlier attempt, another replica): confirmed, not
    /// created now.
    public var alreadyExisted: Bool

    public init(result: ActionResult, rule: String, object: ActedObject? = nil, alreadyExisted: Bool = false) {
        self.result = result
        self.rule = rule
        self.object = object
        self.alreadyExisted = alreadyExisted
    }

    /// The report for a decision that cannot become a Rebalance on `cluster` (no strategy, a rate below 1, an object
    /// without a name): a failure of class `invalid`, never retried into a write.
    static func unbuildable(_ decision: DecisionRecord, on cluster: ObservedCluster) -> ActionReport {
        var why = "the decision cannot become a Rebalance"
        do { _ = try RebalanceFactory.make(decision, for: cluster.object) } catch { why = "\(error)" }
        return ActionReport(result: .failed(ActionFailure(.invalid, why)), rule: decision.rule)
    }

    /// Confirmed and written in this cycle (not found existing).
    public var created: Bool {
        if case .confirmed = result { return !alreadyExisted }
        return false
    }
}

/// The object an action is about, whatever the way of acting.
public struct ActedObject: Sendable, Hashable, CustomStringConvertible {
    /// `Rebalance`, or the kind of our own record.
    public var kind: String
    public var namespace: String
    public var name: String
    /// The spec as JSON, for logs and `run --once`.
    public var spec: String

    public init(kind: String, namespace: String, name: String, spec: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.spec = spec
    }

    /// `Rebalance default/emqx-ee-skew-20261120t102200`.
    public var description: String { "\(kind) \(namespace)/\(name)" }
}

/// Which actuator acts on a cluster in a cycle: the one of its plan's way of acting (the `Rebalance` resource, EMQX's
/// API), or, in dry run (from the command line, or `dryRun:` in the configuration, which a reload can flip), the
/// dry-run one; none for an alert-only cluster.
public struct ActuatorChoice: Sendable {
    public var rebalanceResource: any RebalanceActuator
    public var emqxAPI: (any RebalanceActuator)?
    public var dryRun: any RebalanceActuator

    public init(rebalanceResource: any RebalanceActuator, emqxAPI: (any RebalanceActuator)? = nil, dryRun: any RebalanceActuator) {
        self.rebalanceResource = rebalanceResource
        self.emqxAPI = emqxAPI
        self.dryRun = dryRun
    }

    public func actuator(for acting: ActingMode, dryRun isDryRun: Bool) -> (any RebalanceActuator)? {
        let live: (any RebalanceActuator)?
        switch acting {
        case .rebalanceResource: live = rebalanceResource
        case .emqxAPI: live = emqxAPI
        case .alertOnly: live = nil
        }
        guard live != nil else { return nil }
        return isDryRun ? dryRun : live
    }
}

/// Inputs of one follow cycle.
public struct FollowInputs: Sendable, Hashable {
    public var now: Date
    /// The cluster's Ready (5) / Running (4.4) condition, `nil` unknown.
    public var clusterReady: Bool?
    /// Current per-node counts of the rebalanced node set (live connections, sessions); `nil` when unknown.
    public var counts: [BalanceMath.NodeCounts]?

    public init(now: Date, clusterReady: Bool?, counts: [BalanceMath.NodeCounts]?) {
        self.now = now
        self.clusterReady = clusterReady
        self.counts = counts
    }
}

/// One planned lifecycle action and whether it was carried out.
public struct FollowReport: Sendable, Hashable {
    public var action: RebalanceLifecycle.Action
    /// `true` when written (or, for report-only actions, nothing needed writing).
    public var performed: Bool
    /// Why it could not be performed (not the leader, an API error).
    public var error: String?

    public init(action: RebalanceLifecycle.Action, performed: Bool, error: String? = nil) {
        self.action = action
        self.performed = performed
        self.error = error
    }
}
