import AutorebalancerCore
import Foundation
import Kubernetes

/// One way of acting on a cluster: the operator's `Rebalance` resource (`KubernetesActuator`), EMQX's own API
/// (`EMQXAPIActuator`), or nothing at all (`DryRunActuator`). The loop chooses one per cluster and cycle
/// (``ActuatorChoice``).
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
        guard let object = cluster.object else {
            return ActionReport(
                result: .failed(
                    ActionFailure(.invalid, "\(cluster.reference) has no EMQX object for a Rebalance to target")
                ),
                rule: decision.rule
            )
        }
        var why = "the decision cannot become a Rebalance"
        do { _ = try RebalanceFactory.make(decision, for: object) } catch { why = "\(error)" }
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

    public init(
        rebalanceResource: any RebalanceActuator,
        emqxAPI: (any RebalanceActuator)? = nil,
        dryRun: any RebalanceActuator
    ) {
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
    /// The first closed cluster gate (`ClusterGates`), what a person's manual `EMQXRebalance` waits for; `nil` open.
    public var clusterGate: String?
    /// What `act` did in this cycle, if anything: a start it made holds back a manual run until the next cycle.
    public var acted: ActionReport?

    public init(
        now: Date,
        clusterReady: Bool?,
        counts: [BalanceMath.NodeCounts]?,
        clusterGate: String? = nil,
        acted: ActionReport? = nil
    ) {
        self.now = now
        self.clusterReady = clusterReady
        self.counts = counts
        self.clusterGate = clusterGate
        self.acted = acted
    }
}

/// One planned lifecycle action and whether it was carried out, whichever way the cluster is acted on.
public struct FollowReport: Sendable, Hashable, CustomStringConvertible {
    /// The lifecycle the action belongs to.
    public enum Step: Sendable, Hashable {
        /// An operator `Rebalance` of ours (`RebalanceLifecycle`).
        case rebalance(RebalanceLifecycle.Action)
        /// An `EMQXRebalance` record, ours or a person's (`EMQXRebalanceLifecycle`).
        case record(EMQXRebalanceLifecycle.Action)
    }

    public var step: Step
    /// `true` when written (or, for report-only actions, nothing needed writing).
    public var performed: Bool
    /// Why it could not be performed (not the leader, an API error).
    public var error: String?
    /// A start whose answer was lost in an earlier cycle and that EMQX now shows: the engine counts it from now on
    /// (cooldown, limits) and the rule that made it leaves its create backoff (`ClusterEngineState.confirmingLate`).
    public var lateConfirmation: ConfirmedAction?

    public init(step: Step, performed: Bool, error: String? = nil, lateConfirmation: ConfirmedAction? = nil) {
        self.step = step
        self.performed = performed
        self.error = error
        self.lateConfirmation = lateConfirmation
    }

    public init(action: RebalanceLifecycle.Action, performed: Bool, error: String? = nil) {
        self.init(step: .rebalance(action), performed: performed, error: error)
    }

    /// The `Rebalance` action, for a Rebalance of ours.
    public var action: RebalanceLifecycle.Action? {
        if case .rebalance(let action) = step { return action }
        return nil
    }

    /// The record action, for an `EMQXRebalance`.
    public var recordAction: EMQXRebalanceLifecycle.Action? {
        if case .record(let action) = step { return action }
        return nil
    }

    /// The object the action is about: `Rebalance NAME` or `EMQXRebalance NAME`.
    public var object: String {
        switch step {
        case .rebalance(let action): "Rebalance \(action.rebalance)"
        case .record(let action): "EMQXRebalance \(action.record)"
        }
    }

    /// Since when the rebalance runs, while it runs (stuck included).
    public var runningSince: Date? {
        switch step {
        case .rebalance(.processing(_, let since)), .rebalance(.stuck(_, let since)), .record(.running(_, let since)),
            .record(.stuck(_, let since)):
            since
        default:
            nil
        }
    }

    /// The rebalance's name and since when, when it is reported stuck.
    public var stuck: (name: String, since: Date)? {
        switch step {
        case .rebalance(.stuck(let name, let since)), .record(.stuck(let name, let since)): (name, since)
        default: nil
        }
    }

    /// The outcome judged from metrics and written in this cycle.
    public var recordedOutcome: (name: String, outcome: RebalanceOutcome, detail: String)? {
        guard performed else { return nil }
        switch step {
        case .rebalance(.record(let name, let outcome, let detail, _)),
            .record(.judge(let name, let outcome, let detail)):
            return (name, outcome, detail)
        default:
            return nil
        }
    }

    /// Waiting, following, settling: nothing happened that a person needs to read at info level.
    public var isRoutine: Bool {
        switch step {
        case .rebalance(let action):
            switch action {
            case .awaitOperator, .processing, .settling, .awaitMetrics, .awaitReady, .retryLater: return true
            default: return false
            }
        case .record(let action):
            switch action {
            case .awaitConfirmation, .running, .awaitEMQX, .settling, .awaitMetrics: return true
            case .hold: return performed && error == nil
            default: return false
            }
        }
    }

    /// The action as logs and `run --once` show it.
    public var description: String {
        switch step {
        case .rebalance(let action): "\(action)"
        case .record(let action): "\(action)"
        }
    }
}

extension RebalanceLifecycle.Action {
    /// The Rebalance the action is about (for a retry, the failed one).
    public var rebalance: String {
        switch self {
        case .awaitOperator(let name), .processing(let name, _), .stuck(let name, _), .settling(let name, _),
            .awaitMetrics(let name),
            .confirmWithEMQX(let name), .emqxStillRebalancing(let name), .awaitReady(let name),
            .record(let name, _, _, _),
            .retry(let name, _), .retryLater(let name, _), .delete(let name), .markStopped(let name, _):
            name
        }
    }
}
