import Foundation

/// Replays history through the same engine the agent runs (``EngineReplay`` over ``PolicyEngine``): pending `for`,
/// cooldowns, hysteresis, triggers and missing data all behave as they would have live.
///
/// - Cluster facts that are not in the metrics (Ready, upgrades) are assumed fine (``ClusterFacts/assumedFine``).
/// - Membership: a node belongs to the cluster from its first sample until `lookback` after its last one. A gap inside
///   that span is missing data (the sample older than the policy's staleness is stale, then absent), never zero; a
///   node whose series starts after the replay's first step joins the cluster then (the `scaleOut` trigger); a node
///   whose series comes back after a gap rejoins it (the `restart` trigger).
/// - After a decision the replay does not pretend the rebalance happened (the history already shows what happened);
///   it records the decision as a finished rebalance of ours at that instant, so cooldowns and daily limits apply
///   from there.
/// - Without session series, session thresholds are dropped; a rule that watches sessions only is not evaluated.
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

    /// Per-node live connections at one evaluation instant (`nil`: no usable sample).
    public struct Step: Sendable, Hashable {
        public var time: Date
        public var connections: [String: Double]

        public init(time: Date, connections: [String: Double]) {
            self.time = time
            self.connections = connections
        }
    }

    public struct Report: Sendable {
        /// Evaluation instants replayed.
        public var steps: Int
        /// First and last evaluation instants (`nil` when nothing was replayed).
        public var start: Date?
        public var end: Date?
        /// Rebalance and alert decisions, in time order.
        public var decisions: [DecisionRecord]
        /// Held-back evaluations (missing or stale data, a pending `for` or a closed gate stopped a rule), in time order.
        public var blocked: [DecisionRecord]
        /// `true` when no session series were given, so session thresholds were skipped.
        public var sessionsSkipped: Bool
        /// Rules whose session thresholds were dropped for lack of session data.
        public var rulesWithoutSessions: [String]
        /// Rules that watch sessions only and so were not evaluated for lack of session data.
        public var rulesNotEvaluated: [String]
        /// Every node of the input, sorted.
        public var nodes: [String]
        /// Per-node live connections at every step, for plots.
        public var timeline: [Step]

        /// Decisions per rule name.
        public var decisionsPerRule: [String: Int] {
            decisions.reduce(into: [:]) { $0[$1.rule, default: 0] += 1 }
        }

        /// Held-back evaluations per reason code.
        public var blockedPerReason: [String: Int] {
            blocked.reduce(into: [:]) { $0[$1.reason?.rawValue ?? "unknown", default: 0] += 1 }
        }

        /// The one-line note about skipped session thresholds, `nil` when sessions were given.
        public var sessionsNote: String? {
            guard sessionsSkipped else { return nil }
            var text = "no session data: session thresholds skipped"
            if rulesWithoutSessions.isEmpty && rulesNotEvaluated.isEmpty {
                text += " (no rule of the policy watches sessions)"
            }
            if !rulesWithoutSessions.isEmpty {
                text += "; rules judged on connections only: \(rulesWithoutSessions.joined(separator: ", "))"
            }
            if !rulesNotEvaluated.isEmpty {
                text += "; rules not evaluated (they watch sessions only): \(rulesNotEvaluated.joined(separator: ", "))"
            }
            return text
        }
    }

    /// Reasons that mean "the rule's condition does not hold, nothing to do" rather than "held back": the trigger did
    /// not happen, the cluster is too small to matter, or it is balanced. Missing data, `for` and the gates are
    /// held-back steps.
    static let quietReasons: Set<BlockReason> = [
        .balanced, .notTriggered, .belowMinimumConnections, .belowMinimumNodes,
    ]

    /// Replays `connections` (and `sessions`, when given) through `policy`.
    /// - Parameter progress: called after every step with (steps done, steps in all); for progress lines on long runs.
    public static func run(
        policy: Policy,
        connections: [BacktestSeries],
        sessions: [BacktestSeries]?,
        options: Options,
        progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) -> Report {
        var policy = policy
        var rulesWithoutSessions: [String] = []
        var rulesNotEvaluated: [String] = []
        if sessions == nil {
            for rule in policy.rules where rule.sessions != nil {
                if rule.connections == nil {
                    rulesNotEvaluated.append(rule.name)
                } else {
                    rulesWithoutSessions.append(rule.name)
                }
            }
            policy.rules = policy.rules.compactMap { rule in
                guard rule.sessions != nil else { return rule }
                guard rule.connections != nil else { return nil }
                var rule = rule
                rule.sessions = nil
                return rule
            }
        }
        let instants = evaluationInstants(connections + (sessions ?? []), step: options.step)
        let connectionIndex = SeriesIndex(connections)
        let sessionIndex = sessions.map(SeriesIndex.init)
        let nodes = connectionIndex.nodes

        // A decided rebalance is recorded as completed at once: the history already shows what really happened, but
        // cooldowns and daily limits must count from the decision.
        var replay = EngineReplay(policy: policy, assumedDuration: 0)
        var decisions: [DecisionRecord] = []
        var blocked: [DecisionRecord] = []
        var timeline: [Step] = []
        timeline.reserveCapacity(instants.count)
        for (done, now) in instants.enumerated() {
            var expected: [String] = []
            var observations: [NodeObservation] = []
            var live: [String: Double] = [:]
            for node in nodes {
                guard let span = connectionIndex.span[node], span.first <= now,
                    now <= span.last.addingTimeInterval(options.lookback)
                else {
                    continue
                }
                expected.append(node)
                guard let sample = connectionIndex.latest(node, atOrBefore: now, lookback: options.lookback) else {
                    continue
                }
                let session = sessionIndex?.latest(node, atOrBefore: now, lookback: options.lookback)
                // The older of the two samples decides freshness.
                let observedAt = session.map { min($0.time, sample.time) } ?? sample.time
                observations.append(
                    NodeObservation(
                        name: node,
                        running: true,
                        liveConnections: sample.value,
                        sessions: session?.value,
                        observedAt: observedAt
                    )
                )
                if now.timeIntervalSince(sample.time) <= policy.staleness { live[node] = sample.value }
            }
            timeline.append(Step(time: now, connections: live))
            let snapshot = ClusterSnapshot(
                cluster: options.cluster,
                takenAt: now,
                expectedNodes: expected,
                nodes: observations,
                facts: .assumedFine
            )
            let result = replay.evaluate(snapshot)
            for evaluation in result.evaluations where evaluation.decision == nil {
                if let why = evaluation.whyNot, !quietReasons.contains(why.reason) { blocked.append(evaluation.record) }
            }
            decisions += result.decisions
            progress(done + 1, instants.count)
        }
        return Report(
            steps: instants.count,
            start: instants.first,
            end: instants.last,
            decisions: decisions,
            blocked: blocked,
            sessionsSkipped: sessions == nil,
            rulesWithoutSessions: rulesWithoutSessions,
            rulesNotEvaluated: rulesNotEvaluated,
            nodes: nodes,
            timeline: timeline
        )
    }

    /// The most evaluation instants one backtest replays (a year at a 10 s step is 3.2 million).
    public static let maximumSteps = 10_000_000
    /// The shortest grid step (`--step`).
    public static let minimumStep: TimeInterval = 0.001

    /// The first and last sample time over every series.
    static func timeRange(_ series: [BacktestSeries]) -> (first: Date, last: Date)? {
        var first: Date?
        var last: Date?
        for s in series {
            guard let a = s.samples.first?.time, let b = s.samples.last?.time else { continue }
            first = min(first ?? a, a)
            last = max(last ?? b, b)
        }
        guard let first, let last else { return nil }
        return (first, last)
    }

    /// How many grid steps `step` lays over the input's time range, so a caller can refuse a grid too fine to replay
    /// before anything is allocated.
    public static func stepCount(_ series: [BacktestSeries], step: TimeInterval) -> Double? {
        guard let range = timeRange(series), step > 0 else { return nil }
        return (range.last.timeIntervalSince(range.first) / step).rounded(.down) + 1
    }

    /// Every timestamp of the input, or a regular grid from the first to the last at `step` (at most
    /// ``maximumSteps`` instants).
    static func evaluationInstants(_ series: [BacktestSeries], step: TimeInterval?) -> [Date] {
        guard let (first, last) = timeRange(series) else { return [] }
        guard let step, step > 0 else { return Array(Set(series.flatMap { $0.samples.map(\.time) })).sorted() }
        var instants: [Date] = []
        // Multiplying rather than adding keeps long grids free of accumulated rounding.
        let steps = min((last.timeIntervalSince(first) / step).rounded(.down), Double(maximumSteps - 1))
        let count = steps.isFinite ? Int(max(0, steps)) : 0
        for i in 0...count { instants.append(first.addingTimeInterval(Double(i) * step)) }
        return instants
    }

    /// Binary search over each node's samples.
    struct SeriesIndex {
        let byNode: [String: [PrometheusSample]]
        /// First and last sample time of each node with samples.
        let span: [String: (first: Date, last: Date)]
        var nodes: [String] { byNode.keys.sorted() }

        init(_ series: [BacktestSeries]) {
            byNode = Dictionary(series.map { ($0.node, $0.samples) }, uniquingKeysWith: { first, _ in first })
            var span: [String: (first: Date, last: Date)] = [:]
            for (node, samples) in byNode {
                if let a = samples.first?.time, let b = samples.last?.time { span[node] = (a, b) }
            }
            self.span = span
        }

        /// The newest sample at or before `time`, if it is within `lookback`.
        func latest(_ node: String, atOrBefore time: Date, lookback: TimeInterval) -> PrometheusSample? {
            guard let samples = byNode[node], !samples.isEmpty else { return nil }
            var low = 0
            var high = samples.count  // first index with time > `time`
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
