import Foundation

/// Replays history through the same engine the agent runs: pending `for`, cooldowns, hysteresis, triggers and
/// missing data all behave as they would have live.
///
/// Cluster facts that are not in the metrics (Ready, upgrades) are assumed fine. After a decision the replay does not
/// pretend the rebalance happened (the history already shows what happened); it records the decision as a finished
/// rebalance of ours at that instant, so cooldowns and daily limits apply from there.
public enum BacktestRunner {
    public struct Options: Sendable, Hashable {
        public var cluster: ClusterReference
        /// A sample counts at instants up to this long after it (Prometheus's instant-query lookback). Default 5 m.
        public var lookback: TimeInterval
        /// Evaluation step; `nil` evaluates at every timestamp found in the input.
        public var step: TimeInterval?

        public init(cluster: ClusterReference, lookback: TimeInterval = 300, step: TimeInterval? = nil) {
            self.cluster = cluster
            self.lookback = lookback
            self.step = step
        }
    }

    public struct Report: Sendable {
        /// Evaluation instants replayed.
        public var steps: Int
        /// Rebalance and alert decisions, in time order.
        public var decisions: [DecisionRecord]
        /// Held-back evaluations (a gate or `for` stopped a rule whose trigger happened), in time order.
        public var blocked: [DecisionRecord]
        /// `true` when no session series were given, so session thresholds were skipped.
        public var sessionsSkipped: Bool
        /// Rules whose session thresholds were dropped for lack of session data.
        public var rulesWithoutSessions: [String]
        /// Per-node live connections at every step, for plots.
        public var timeline: [(time: Date, connections: [String: Double])]

        /// Decisions per rule name.
        public var decisionsPerRule: [String: Int] {
            decisions.reduce(into: [:]) { $0[$1.rule, default: 0] += 1 }
        }

        /// Held-back evaluations per reason code.
        public var blockedPerReason: [String: Int] {
            blocked.reduce(into: [:]) { $0[$1.reason?.rawValue ?? "unknown", default: 0] += 1 }
        }
    }

    /// Reasons that mean "nothing to do" rather than "held back".
    static let quietReasons: Set<BlockReason> = [.balanced, .notTriggered]

    public static func run(policy: Policy, connections: [BacktestSeries], sessions: [BacktestSeries]?, options: Options) -> Report {
        var policy = policy
        var rulesWithoutSessions: [String] = []
        if sessions == nil {
            for index in policy.rules.indices where policy.rules[index].sessions != nil {
                rulesWithoutSessions.append(policy.rules[index].name)
                policy.rules[index].sessions = nil
            }
        }
        let instants = evaluationInstants(connections + (sessions ?? []), step: options.step)
        let connectionIndex = SeriesIndex(connections)
        let sessionIndex = sessions.map(SeriesIndex.init)

        // A decided rebalance is recorded as completed at once: the history already shows what really happened, but
        // cooldowns and daily limits must count from the decision.
        var replay = EngineReplay(policy: policy, assumedDuration: 0)
        var decisions: [DecisionRecord] = []
        var blocked: [DecisionRecord] = []
        var timeline: [(time: Date, connections: [String: Double])] = []
        for now in instants {
            var nodes: [NodeObservation] = []
            var live: [String: Double] = [:]
            for node in connectionIndex.nodes {
                guard let sample = connectionIndex.latest(node, atOrBefore: now, lookback: options.lookback) else { continue }
                let session = sessionIndex?.latest(node, atOrBefore: now, lookback: options.lookback)
                // The older of the two samples decides freshness.
                let observedAt = session.map { min($0.time, sample.time) } ?? sample.time
                nodes.append(NodeObservation(
                    name: node, running: true, liveConnections: sample.value, sessions: session?.value, observedAt: observedAt))
                live[node] = sample.value
            }
            timeline.append((now, live))
            let snapshot = ClusterSnapshot(cluster: options.cluster, takenAt: now, expectedNodes: nil, nodes: nodes, facts: .assumedFine)
            let result = replay.evaluate(snapshot)
            for evaluation in result.evaluations where evaluation.decision == nil {
                if let why = evaluation.whyNot, !quietReasons.contains(why.reason) { blocked.append(evaluation.record) }
            }
            decisions += result.decisions
        }
        return Report(
            steps: instants.count, decisions: decisions, blocked: blocked, sessionsSkipped: sessions == nil,
            rulesWithoutSessions: rulesWithoutSessions, timeline: timeline)
    }

    /// Every timestamp of the input, or a regular grid from the first to the last at `step`.
    static func evaluationInstants(_ series: [BacktestSeries], step: TimeInterval?) -> [Date] {
        let times = series.flatMap { $0.samples.map(\.time) }
        guard let first = times.min(), let last = times.max() else { return [] }
        guard let step, step > 0 else { return Array(Set(times)).sorted() }
        var instants: [Date] = []
        var t = first
        while t <= last {
            instants.append(t)
            t = t.addingTimeInterval(step)
        }
        return instants
    }

    /// Binary search over each node's samples.
    struct SeriesIndex {
        let byNode: [String: [PrometheusSample]]
        var nodes: [String] { byNode.keys.sorted() }

        init(_ series: [BacktestSeries]) {
            byNode = Dictionary(series.map { ($0.node, $0.samples) }, uniquingKeysWith: { first, _ in first })
        }

        /// The newest sample at or before `time`, if it is within `lookback`.
        func latest(_ node: String, atOrBefore time: Date, lookback: TimeInterval) -> PrometheusSample? {
            guard let samples = byNode[node], !samples.isEmpty else { return nil }
            var low = 0, high = samples.count  // first index with time > `time`
            while low < high {
                let mid = (low + high) / 2
                if samples[mid].time <= time { low = mid + 1 } else { high = mid }
            }
            guard low > 0 else { return nil }
            let sample = samples[low - 1]
            return time.timeIntervalSince(sample.time) <= lookback ? sample : nil
        }
    }
}
