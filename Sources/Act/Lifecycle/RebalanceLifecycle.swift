import AutorebalancerCore
import Foundation

/// The Rebalance lifecycle of one cluster as a pure, level-triggered state machine: given every Rebalance the API
/// lists and the current inputs, it returns what to do. All of its state lives in the cluster (phases, labels, our
/// outcome and attempt annotations), so a restarted or newly elected agent continues exactly where the last stopped.
/// `KubernetesActuator` performs the actions; `DryRunActuator` only reports them.
public struct RebalanceLifecycle: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Wait this long after `Completed` before judging from metrics (clients reconnect, metrics catch up). Default 60 s.
        public var settleTime: Duration
        /// A Rebalance of ours in `Processing` (or not picked up) longer than this is reported stuck. Default 30 min.
        public var stuckAfter: Duration
        /// Delay before the first retry of an ordinary failure; doubles per attempt. Default 2 min.
        public var retryBackoff: Duration
        /// Upper bound of a retry delay. Default 30 min.
        public var retryBackoffMax: Duration
        /// Attempts of one decision in total, the first included. Default 3.
        public var maxAttempts: Int
        /// A failure older than this is not retried any more (e.g. after a long outage). Default 2 h.
        public var retryWindow: Duration
        /// Finished Rebalances of ours kept per cluster; older ones are deleted. Default 10 (at least 1).
        public var keepFinished: Int
        /// See `OutcomeJudge.judge`. Default 0.5.
        public var minimumImprovement: Double

        public init(
            settleTime: Duration = .seconds(60),
            stuckAfter: Duration = .seconds(1800),
            retryBackoff: Duration = .seconds(120),
            retryBackoffMax: Duration = .seconds(1800),
            maxAttempts: Int = 3,
            retryWindow: Duration = .seconds(7200),
            keepFinished: Int = 5,
            minimumImprovement: Double = 0.5
        ) {
            self.settleTime = settleTime
            self.stuckAfter = stuckAfter
            self.retryBackoff = retryBackoff
            self.retryBackoffMax = retryBackoffMax
            self.maxAttempts = max(1, maxAttempts)
            self.retryWindow = retryWindow
            self.keepFinished = max(1, keepFinished)
            self.minimumImprovement = minimumImprovement
        }

        /// Delay before attempt `attempt + 1` after attempt `attempt` failed.
        public func backoff(afterAttempt attempt: Int) -> Duration {
            min(retryBackoff * (1 << min(max(attempt - 1, 0), 16)), retryBackoffMax)
        }
    }

    /// What EMQX's `global_status` said, for a `Failed ... not ready` of EMQX 5.
    public enum ProbeAnswer: Sendable, Hashable {
        case notAsked
        case running
        case idle
        case unreachable(String)
    }

    public struct Inputs: Sendable, Hashable {
        public var now: Date
        /// The EMQX object's Ready (5) / Running (4.4) condition; `nil` unknown.
        public var clusterReady: Bool?
        /// Current counts of the rebalanced node set; `nil` when unknown (judging waits).
        public var counts: [BalanceMath.NodeCounts]?
        public var probe: ProbeAnswer

        public init(now: Date, clusterReady: Bool?, counts: [BalanceMath.NodeCounts]?, probe: ProbeAnswer = .notAsked) {
            self.now = now
            self.clusterReady = clusterReady
            self.counts = counts
            self.probe = probe
        }
    }

    /// One thing to do (or to report) about one Rebalance.
    public enum Action: Sendable, Hashable {
        /// Ours, created, no phase yet.
        case awaitOperator(String)
        case processing(String, since: Date)
        /// In `Processing` (or unpicked) longer than `stuckAfter`: alert; never deleted by us.
        case stuck(String, since: Date)
        /// `Completed` (or confirmed finished); judging after the settle time.
        case settling(String, until: Date)
        /// EMQX is seen stopped now and the Rebalance does not say when: write the instant (`stoppedAtKey`), from
        /// which the settle time counts.
        case markStopped(String, at: Date)
        /// Ready to judge, but current counts are unknown.
        case awaitMetrics(String)
        /// `Failed ... not ready` on EMQX 5: ask EMQX's `global_status`, then plan again with the answer.
        case confirmWithEMQX(String)
        /// EMQX confirms it is still rebalancing despite the `Failed` phase: blocks new Rebalances.
        case emqxStillRebalancing(String)
        /// EMQX unreachable and the cluster not Ready: wait until Ready, then judge from metrics.
        case awaitReady(String)
        /// Write the outcome annotation (and an Event).
        case record(String, outcome: RebalanceOutcome, detail: String, retriesExhausted: Bool)
        /// Create attempt `attempt` of the decision of this failed Rebalance.
        case retry(failed: String, attempt: Int)
        case retryLater(failed: String, notBefore: Date)
        /// Garbage-collect a finished Rebalance of ours beyond the newest `keepFinished`.
        case delete(String)
    }

    /// Why a new Rebalance may not be created now.
    public struct Blocker: Sendable, Hashable, CustomStringConvertible {
        public var name: String
        public var ours: Bool
        public var reason: String
        public var description: String {
            "Rebalance \(name) (\(ours ? "created by the agent" : "not created by the agent")) \(reason)"
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    // MARK: Gate

    /// The Rebalance that blocks creating another one for the cluster, if any: any `Processing` one targeting it
    /// (ours or not), one of ours not yet picked up, or one of ours `Failed ... not ready` whose outcome is not yet
    /// judged (EMQX may still be rebalancing).
    public static func blocker(_ rebalances: [Rebalance], for cluster: ClusterReference) -> Blocker? {
        for rebalance in sorted(rebalances) {
            let ours = RebalanceMetadata.isOurs(rebalance, cluster: cluster)
            guard ours || RebalanceMetadata.targets(rebalance, cluster: cluster), let name = rebalance.metadata.name
            else { continue }
            if rebalance.metadata.deletionTimestamp != nil { continue }
            switch rebalance.status?.phaseValue {
            case .processing?:
                return Blocker(name: name, ours: ours, reason: "is Processing")
            case nil where ours:
                return Blocker(name: name, ours: ours, reason: "was created and is not yet picked up by the operator")
            case .failed?
            where ours && RebalanceMetadata.outcome(of: rebalance) == nil
                && RebalanceFailure.classify(message: rebalance.status?.failureMessage, kind: cluster.kind) == .notReady:
                return Blocker(
                    name: name,
                    ours: ours,
                    reason: "failed as 'not ready', which is not yet confirmed: EMQX may still be rebalancing"
                )
            default:
                continue
            }
        }
        return nil
    }

    // MARK: Follow

    /// Everything to do about the cluster's Rebalances of ours now, oldest first, then retries, then deletions.
    public func plan(_ rebalances: [Rebalance], for cluster: ClusterReference, inputs: Inputs) -> [Action] {
        let ours = Self.sorted(rebalances).filter {
            RebalanceMetadata.isOurs($0, cluster: cluster) && $0.metadata.deletionTimestamp == nil
        }
        var actions: [Action] = []
        for rebalance in ours {
            if let action = follow(rebalance, cluster: cluster, inputs: inputs) { actions.append(action) }
        }
        if let latest = ours.last, let retry = retry(latest, all: rebalances, cluster: cluster, inputs: inputs) {
            actions.append(retry)
        }
        let finished = ours.filter {
            ($0.status?.phaseValue?.isFinal ?? false) && RebalanceMetadata.outcome(of: $0) != nil
        }
        if finished.count > configuration.keepFinished {
            for old in finished.dropLast(configuration.keepFinished) where old.metadata.name != ours.last?.metadata.name
            {
                actions.append(.delete(old.metadata.name ?? ""))
            }
        }
        return actions
    }

    /// The action for one of ours, or `nil` when it is finished and judged.
    func follow(_ rebalance: Rebalance, cluster: ClusterReference, inputs: Inputs) -> Action? {
        guard let name = rebalance.metadata.name else { return nil }
        if RebalanceMetadata.outcome(of: rebalance) != nil { return nil }
        let created = KubernetesTime.parse(rebalance.metadata.creationTimestamp) ?? inputs.now
        let stuckAfter = configuration.stuckAfter.seconds
        switch rebalance.status?.phaseValue {
        case nil:
            return inputs.now.timeIntervalSince(created) > stuckAfter
                ? .stuck(name, since: created) : .awaitOperator(name)
        case .processing?:
            let since = KubernetesTime.parse(rebalance.status?.startedTime) ?? created
            return inputs.now.timeIntervalSince(since) > stuckAfter
                ? .stuck(name, since: since) : .processing(name, since: since)
        case .completed?:
            // The operator's completion time is when EMQX was seen done; without one, the agent's own record of it.
            guard let stopped = RebalanceHistory.finishedAt(rebalance) ?? RebalanceMetadata.stoppedAt(rebalance) else {
                return .markStopped(name, at: inputs.now)
            }
            return judge(rebalance, name: name, finished: stopped, inputs: inputs)
        case .failed?:
            let message = rebalance.status?.failureMessage ?? "no failure message"
            switch RebalanceFailure.classify(message: message, kind: cluster.kind) {
            case .nothingToBalance:
                return .record(name, outcome: .nothingToBalance, detail: message, retriesExhausted: false)
            case .other:
                let attempt = RebalanceMetadata.attempt(of: rebalance)
                return .record(
                    name,
                    outcome: .failed,
                    detail: message,
                    retriesExhausted: attempt >= configuration.maxAttempts
                )
            case .notReady:
                // The `Failed` time is not when EMQX stopped (it may keep rebalancing): the settle time counts from
                // when the agent first saw it stopped, by EMQX's answer or by Ready.
                if let stopped = RebalanceMetadata.stoppedAt(rebalance) {
                    return judge(rebalance, name: name, finished: stopped, inputs: inputs)
                }
                switch inputs.probe {
                case .notAsked:
                    return .confirmWithEMQX(name)
                case .running:
                    return .emqxStillRebalancing(name)
                case .idle:
                    return .markStopped(name, at: inputs.now)
                case .unreachable:
                    guard inputs.clusterReady == true else { return .awaitReady(name) }
                    return .markStopped(name, at: inputs.now)
                }
            }
        }
    }

    private func judge(_ rebalance: Rebalance, name: String, finished: Date, inputs: Inputs) -> Action {
        let until = finished.addingTimeInterval(configuration.settleTime.seconds)
        guard inputs.now >= until else { return .settling(name, until: until) }
        guard let counts = inputs.counts, !counts.isEmpty else { return .awaitMetrics(name) }
        guard
            let judgement = OutcomeJudge.judge(
                decision: RebalanceMetadata.decision(of: rebalance),
                strategy: rebalance.spec.rebalanceStrategy,
                counts: counts,
                minimumImprovement: configuration.minimumImprovement
            )
        else {
            return .awaitMetrics(name)
        }
        return .record(name, outcome: judgement.outcome, detail: judgement.detail, retriesExhausted: false)
    }

    private func retry(_ latest: Rebalance, all: [Rebalance], cluster: ClusterReference, inputs: Inputs) -> Action? {
        guard let name = latest.metadata.name, latest.status?.phaseValue == .failed,
            RebalanceMetadata.outcome(of: latest) == .failed
        else { return nil }
        let attempt = RebalanceMetadata.attempt(of: latest)
        guard attempt < configuration.maxAttempts else { return nil }
        let finished =
            RebalanceHistory.finishedAt(latest) ?? KubernetesTime.parse(latest.metadata.creationTimestamp) ?? inputs.now
        guard inputs.now.timeIntervalSince(finished) <= configuration.retryWindow.seconds else { return nil }
        let notBefore = finished.addingTimeInterval(configuration.backoff(afterAttempt: attempt).seconds)
        if inputs.now < notBefore || Self.blocker(all, for: cluster) != nil {
            return .retryLater(failed: name, notBefore: notBefore)
        }
        return .retry(failed: name, attempt: attempt + 1)
    }

    private static func sorted(_ rebalances: [Rebalance]) -> [Rebalance] {
        CreationOrder.oldestFirst(rebalances, \.metadata)
    }
}
