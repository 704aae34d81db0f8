import AutorebalancerCore
import Foundation

/// The life of `EMQXRebalance` records as a pure, level-triggered state machine: from the cluster's records, EMQX's
/// `global_status` and the cluster's gates, it returns what to do; the `emqxAPI` actuator performs it.
///
/// ```
///   (manual, no status) ──gate closed──▶ Pending ──gate open──▶ Starting ──global_status / 200──▶ Running
///          │                                                      │                                  │
///          └──invalid spec──▶ Failed                older than one cycle, not seen ──▶ Failed      gone from global_status
///                                                                                                    ├─ participant lost ─▶ Failed
///                                                                                                    └─ otherwise ─────────▶ Completed
/// ```
/// The intent (`Starting`, or one of ours without status yet) is written **before** EMQX is called, and EMQX is
/// called only in the cycle that wrote it. A record found at intent later is never started again: it is confirmed
/// from `global_status` or, once older than one cycle, ends `Failed` ("start not confirmed"). A retry is a new
/// record under the normal gates.
public struct EMQXRebalanceLifecycle: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// The evaluation interval: an intent older than this that EMQX does not show was never started.
        public var cycle: Duration
        /// Wait this long after EMQX stopped before judging from metrics.
        public var settleTime: Duration
        /// Running (or unconfirmable) longer than this is reported stuck.
        public var stuckAfter: Duration
        /// Finished, judged records of ours kept per cluster.
        public var keepFinished: Int
        public var minimumImprovement: Double

        public init(
            cycle: Duration = .seconds(10),
            settleTime: Duration = .seconds(60),
            stuckAfter: Duration = .seconds(1800),
            keepFinished: Int = 10,
            minimumImprovement: Double = 0.5
        ) {
            self.cycle = cycle
            self.settleTime = settleTime
            self.stuckAfter = stuckAfter
            self.keepFinished = max(1, keepFinished)
            self.minimumImprovement = minimumImprovement
        }
    }

    /// What EMQX's `global_status` said this cycle.
    public enum EMQXView: Sendable, Hashable {
        case status(LoadRebalance.GlobalStatus)
        /// Could not be asked (the reason is for the record and the logs).
        case unknown(String)
    }

    /// One node as the cluster's membership says: running, and since when.
    public struct Member: Sendable, Hashable {
        public var running: Bool
        public var startedAt: Date?
        public init(running: Bool, startedAt: Date? = nil) {
            self.running = running
            self.startedAt = startedAt
        }
    }

    public struct Inputs: Sendable, Hashable {
        public var now: Date
        public var emqx: EMQXView
        /// `nil` when every cluster gate (Ready, no upgrade, no evacuation, no scale-in) is open, else why not.
        public var closedGate: String?
        /// The cluster's rebalanced node set (replicants if any, else cores), for records that name none.
        public var rebalancedNodes: [String]?
        /// Cluster members by node name; `nil` unknown.
        public var members: [String: Member]?
        /// Current counts of the rebalanced set, for judging; `nil` unknown.
        public var counts: [BalanceMath.NodeCounts]?

        public init(
            now: Date,
            emqx: EMQXView,
            closedGate: String? = nil,
            rebalancedNodes: [String]? = nil,
            members: [String: Member]? = nil,
            counts: [BalanceMath.NodeCounts]? = nil
        ) {
            self.now = now
            self.emqx = emqx
            self.closedGate = closedGate
            self.rebalancedNodes = rebalancedNodes
            self.members = members
            self.counts = counts
        }
    }

    public enum Action: Sendable, Hashable {
        /// A manual run whose gates are open: write the intent (`Starting`), then call `start` once.
        case start(String, coordinator: String, request: LoadRebalance.StartRequest)
        /// A manual run waiting for a gate: `Pending` with the reason (written only when it changed).
        case hold(String, reason: String)
        /// A manual run whose spec EMQX would refuse: `Failed`, naming the fields.
        case reject(String, reason: String)
        /// At intent, younger than one cycle, EMQX does not show it yet: wait.
        case awaitConfirmation(String)
        /// At intent and EMQX shows it (or Running with changed EMQX state): write `Running` with EMQX's view.
        case confirm(String, entry: LoadRebalance.RebalanceEntry)
        /// At intent, older than one cycle, and EMQX does not show it: `Failed`, never started again.
        case unconfirmed(String, reason: String)
        /// Running, and EMQX still shows it unchanged.
        case running(String, since: Date)
        /// Running and gone from `global_status`: `Completed`, or `Failed` with the reason when EMQX aborted it.
        case finished(String, abortedBecause: String?)
        /// EMQX could not be asked: nothing is decided about this record this cycle.
        case awaitEMQX(String, reason: String)
        /// Running or unconfirmable for longer than `stuckAfter`: alert; never deleted.
        case stuck(String, since: Date)
        /// Finished; judging after the settle time.
        case settling(String, until: Date)
        case awaitMetrics(String)
        /// Write the judged outcome annotation.
        case judge(String, outcome: RebalanceOutcome, detail: String)
        /// Deleted while EMQX runs it: stop EMQX's rebalance, then release the finalizer.
        case stop(String, coordinator: String)
        /// Deleted and nothing runs: release the finalizer.
        case release(String)
        /// Garbage-collect a finished record of ours beyond the newest `keepFinished`.
        case delete(String)
    }

    public let configuration: Configuration

    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    // MARK: Reading records

    /// Whether the agent created the record (a rule fired) rather than a person.
    public static func isAutomatic(_ record: EMQXRebalance) -> Bool {
        record.metadata.labels?[RebalanceMetadata.managedByKey] == RebalanceMetadata.managedByValue
    }

    /// The record's coordinator: the one it wrote, else the first node of its set (the operator's choice, `nodes[0]`).
    public static func coordinator(of record: EMQXRebalance, rebalancedNodes: [String]?) -> String? {
        record.status?.coordinator ?? (record.spec.nodes ?? rebalancedNodes)?.first
    }

    /// At intent: `Starting`, or one of ours that has no status yet (the agent stopped between create and status).
    static func isAtIntent(_ record: EMQXRebalance) -> Bool {
        switch record.status?.phaseValue {
        case .starting?: true
        case nil: isAutomatic(record)
        default: false
        }
    }

    /// Why a new rebalance may not start: a record of this cluster at intent or running.
    public func blocker(_ records: [EMQXRebalance]) -> String? {
        for record in sorted(records) where record.metadata.deletionTimestamp == nil {
            let name = record.metadata.name ?? ""
            if Self.isAtIntent(record) { return "EMQXRebalance \(name) was asked to start and is not yet confirmed" }
            if record.status?.phaseValue == .running { return "EMQXRebalance \(name) is Running" }
        }
        return nil
    }

    // MARK: Plan

    /// Everything to do about the cluster's records now (oldest first), at most one `start`, then deletions.
    /// - Parameter records: the records of this cluster (`spec.cluster`), ours and manual.
    public func plan(_ records: [EMQXRebalance], inputs: Inputs) -> [Action] {
        let all = sorted(records)
        var actions: [Action] = []
        var busy = blocker(all)
        for record in all {
            guard let name = record.metadata.name else { continue }
            if record.metadata.deletionTimestamp != nil {
                if let action = deletion(record, name: name, inputs: inputs) { actions.append(action) }
                continue
            }
            if let action = follow(record, name: name, inputs: inputs, busy: busy) {
                if case .start = action { busy = "EMQXRebalance \(name) is starting" }
                actions.append(action)
            }
        }
        let finished = all.filter {
            Self.isAutomatic($0) && ($0.status?.phaseValue?.isFinal ?? false)
                && RebalanceMetadata.outcome(of: $0) != nil && $0.metadata.deletionTimestamp == nil
        }
        if finished.count > configuration.keepFinished {
            for old in finished.dropLast(configuration.keepFinished) {
                actions.append(.delete(old.metadata.name ?? ""))
            }
        }
        return actions
    }

    private func follow(_ record: EMQXRebalance, name: String, inputs: Inputs, busy: String?) -> Action? {
        let created = KubernetesTime.parse(record.metadata.creationTimestamp) ?? inputs.now
        switch record.status?.phaseValue {
        case nil where !Self.isAutomatic(record), .pending?:
            return manual(record, name: name, inputs: inputs, busy: busy)
        case nil, .starting?:
            let requested = KubernetesTime.parse(record.status?.requestedTime) ?? created
            guard case .status(let status) = inputs.emqx else {
                return stuckOr(.awaitEMQX(name, reason: reason(inputs.emqx)), since: requested, now: inputs.now)
            }
            if let coordinator = Self.coordinator(of: record, rebalancedNodes: inputs.rebalancedNodes),
                let entry = status.rebalance(coordinatedBy: coordinator)
            {
                return .confirm(name, entry: entry)
            }
            guard inputs.now.timeIntervalSince(requested) > configuration.cycle.seconds else {
                return .awaitConfirmation(name)
            }
            let other = status.blockingReason.map { "; \($0)" } ?? ""
            return .unconfirmed(
                name,
                reason:
                    "start not confirmed: EMQX does not show this rebalance one cycle after it was requested\(other)"
            )
        case .running?:
            let since = KubernetesTime.parse(record.status?.startedTime) ?? created
            guard case .status(let status) = inputs.emqx else {
                return stuckOr(.awaitEMQX(name, reason: reason(inputs.emqx)), since: since, now: inputs.now)
            }
            if let coordinator = record.status?.coordinator, let entry = status.rebalance(coordinatedBy: coordinator) {
                if entry.state != record.status?.emqxState || entry.donors != record.status?.donors
                    || entry.recipients != record.status?.recipients
                {
                    return .confirm(name, entry: entry)
                }
                return stuckOr(.running(name, since: since), since: since, now: inputs.now)
            }
            return .finished(name, abortedBecause: abort(record, since: since, members: inputs.members))
        case .completed?, .failed?:
            guard RebalanceMetadata.outcome(of: record) == nil, record.status?.startedTime != nil else { return nil }
            return judge(record, name: name, inputs: inputs)
        }
    }

    /// A manual run: validated, then held while a gate is closed, else started.
    private func manual(_ record: EMQXRebalance, name: String, inputs: Inputs, busy: String?) -> Action {
        let nodes = record.spec.nodes ?? inputs.rebalancedNodes ?? []
        let request: LoadRebalance.StartRequest
        switch LoadRebalance.StartRequest.make(
            strategy: record.spec.strategy,
            nodes: nodes,
            fieldPrefix: "spec.strategy"
        ) {
        case .failure(let problems):
            let known = record.spec.nodes != nil || inputs.rebalancedNodes != nil
            let fields = problems.problems.filter { known || $0.field != "nodes" }
            if fields.isEmpty { return .hold(name, reason: "waiting for the cluster's node set to be known") }
            let text = fields.map { $0.field == "nodes" ? "spec.nodes: \($0.message)" : $0.description }.joined(
                separator: "; "
            )
            return .reject(name, reason: "invalid spec: \(text)")
        case .success(let made):
            request = made
        }
        if let gate = inputs.closedGate { return .hold(name, reason: gate) }
        if let busy { return .hold(name, reason: busy) }
        guard case .status(let status) = inputs.emqx else {
            return .hold(name, reason: "cannot ask EMQX whether a rebalance runs: \(reason(inputs.emqx))")
        }
        if let running = status.blockingReason { return .hold(name, reason: running) }
        if let members = inputs.members {
            let missing = nodes.filter { members[$0]?.running != true }
            if !missing.isEmpty { return .hold(name, reason: "nodes not running: \(missing.joined(separator: ", "))") }
        }
        return .start(name, coordinator: nodes[0], request: request)
    }

    /// Why EMQX ended the rebalance early, if it did: EMQX aborts on every node when a participant fails.
    private func abort(_ record: EMQXRebalance, since: Date, members: [String: Member]?) -> String? {
        guard let members else { return nil }
        let coordinator = record.status?.coordinator ?? ""
        if members[coordinator]?.running != true {
            return "the coordinator \(coordinator) left the cluster or stopped; EMQX aborted the rebalance"
        }
        let participants = (record.status?.donors ?? []) + (record.status?.recipients ?? [])
        for node in participants.sorted() {
            guard let member = members[node], member.running else {
                return "node \(node) left the cluster or stopped during the rebalance; EMQX aborted it"
            }
            if let started = member.startedAt, started > since {
                return "node \(node) restarted during the rebalance; EMQX aborted it"
            }
        }
        return nil
    }

    private func deletion(_ record: EMQXRebalance, name: String, inputs: Inputs) -> Action? {
        guard record.metadata.finalizers?.contains(EMQXRebalance.finalizer) == true else { return nil }
        let active = record.status?.phaseValue == .running || Self.isAtIntent(record)
        guard active, let coordinator = Self.coordinator(of: record, rebalancedNodes: inputs.rebalancedNodes) else {
            return .release(name)
        }
        switch inputs.emqx {
        case .status(let status):
            return status.rebalance(coordinatedBy: coordinator) == nil
                ? .release(name) : .stop(name, coordinator: coordinator)
        case .unknown(let why):
            // Releasing now could leave EMQX rebalancing with nobody to stop it: wait until EMQX can be asked.
            return .awaitEMQX(name, reason: why)
        }
    }

    private func judge(_ record: EMQXRebalance, name: String, inputs: Inputs) -> Action {
        let finished = KubernetesTime.parse(record.status?.completedTime) ?? inputs.now
        let until = finished.addingTimeInterval(configuration.settleTime.seconds)
        guard inputs.now >= until else { return .settling(name, until: until) }
        guard let counts = inputs.counts, !counts.isEmpty else { return .awaitMetrics(name) }
        guard
            let judgement = OutcomeJudge.judge(
                decision: RebalanceMetadata.decision(of: record),
                strategy: record.spec.strategy,
                counts: counts,
                minimumImprovement: configuration.minimumImprovement
            )
        else {
            return .awaitMetrics(name)
        }
        return .judge(name, outcome: judgement.outcome, detail: judgement.detail)
    }

    private func stuckOr(_ action: Action, since: Date, now: Date) -> Action {
        now.timeIntervalSince(since) > configuration.stuckAfter.seconds ? .stuck(action.record, since: since) : action
    }

    private func reason(_ view: EMQXView) -> String {
        if case .unknown(let why) = view { return why }
        return ""
    }

    private func sorted(_ records: [EMQXRebalance]) -> [EMQXRebalance] {
        CreationOrder.oldestFirst(records, \.metadata)
    }
}

extension EMQXRebalanceLifecycle.Action {
    /// The record the action is about.
    public var record: String {
        switch self {
        case .start(let name, _, _), .hold(let name, _), .reject(let name, _), .awaitConfirmation(let name),
            .confirm(let name, _),
            .unconfirmed(let name, _), .running(let name, _), .finished(let name, _), .awaitEMQX(let name, _),
            .stuck(let name, _),
            .settling(let name, _), .awaitMetrics(let name), .judge(let name, _, _), .stop(let name, _),
            .release(let name), .delete(let name):
            name
        }
    }
}
