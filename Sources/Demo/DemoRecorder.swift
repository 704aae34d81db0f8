import Agent
import AutorebalancerCore
import Foundation
import Simulation
import Synchronization

/// Keeps what the agent decided during the demo, for the display and the summary, and when it first saw the cluster.
final class DemoRecorder: TickReportSink {
    struct State {
        var decisions: [DecisionRecord] = []
        /// For each decision, why the cycle's other rules did not act (`rule: reason: detail`).
        var whyNots: [[String]] = []
        /// The newest evaluation of each rule.
        var latest: [String: RuleEvaluation] = [:]
        /// Set when the agent has observed the cluster's nodes for the first time: where the demo's timeline starts
        /// (see `publish`).
        var origin: Duration?
        /// The cluster facts of the agent's latest look (what it stands back for).
        var facts: ClusterFacts?
        /// When the agent last evaluated, and the longest stretch of simulated time between two evaluations.
        var lastEvaluation: Duration?
        var longestEvaluationGap: Duration = .zero
    }

    let state = Mutex(State())
    /// Simulated time since the clock's origin.
    let now: @Sendable () -> Duration
    /// When the scenario's first event is planned.
    let firstEvent: Duration

    init(now: @escaping @Sendable () -> Duration, firstEvent: Duration) {
        self.now = now
        self.firstEvent = firstEvent
    }

    func publish(_ report: TickReport) async {
        let seen = report.clusters.contains { $0.observed && $0.snapshot?.nodes.isEmpty == false }
        let now = self.now()
        state.withLock { state in
            if seen, state.origin == nil {
                // The scenario must start after the agent's first look at the cluster, with at least a second to
                // spare: a node present at first sight is no join. On a loaded machine that look can come late in
                // simulated time; the demo's timeline (events, samples, reported times) then starts that much later,
                // in whole seconds, so every run of a scenario reads the same.
                let late = (now + .seconds(1) - firstEvent) / .seconds(1)
                state.origin = late > 0 ? .seconds(late.rounded(.up)) : .zero
            }
            if let last = state.lastEvaluation {
                state.longestEvaluationGap = max(state.longestEvaluationGap, now - last)
            }
            state.lastEvaluation = now
            for cluster in report.clusters {
                if let facts = cluster.snapshot?.facts { state.facts = facts }
                for decision in cluster.decisions {
                    state.decisions.append(decision)
                    state.whyNots.append(
                        cluster.evaluations.filter { $0.rule != decision.rule }.compactMap { evaluation in
                            evaluation.whyNot.map { "\(evaluation.rule): \($0)" }
                        }
                    )
                }
                for evaluation in cluster.evaluations { state.latest[evaluation.rule] = evaluation }
            }
        }
    }

    var decisions: [DecisionRecord] { state.withLock { $0.decisions } }

    /// Every rule's newest evaluation.
    var latestEvaluations: [RuleEvaluation] { state.withLock { $0.latest.values.sorted { $0.rule < $1.rule } } }

    /// The cluster facts the agent saw last.
    var facts: ClusterFacts? { state.withLock { $0.facts } }
    /// The longest stretch of simulated time between two of the agent's evaluations. Simulated time runs on the wall
    /// clock: on a loaded machine the agent can fall behind it, and a scenario whose events are shorter than that gap
    /// (a flap the agent never sees) no longer shows what it was written to show.
    var longestEvaluationGap: Duration { state.withLock { $0.longestEvaluationGap } }

    /// Parallel to ``decisions``.
    var whyNots: [[String]] { state.withLock { $0.whyNots } }

    /// The simulated instant the demo's timeline counts from, once the agent has seen the cluster; `nil` before.
    var origin: Duration? { state.withLock { $0.origin } }

    /// Waits (on simulated time) until the agent has seen the cluster; returns the timeline's origin, or `nil` when
    /// the agent has not seen it by `limit` (its sources keep failing).
    func waitForOrigin(clock: SimulationClock, limit: Duration) async throws -> Duration? {
        while true {
            if let origin { return origin }
            if clock.now.offset > limit { return nil }
            try await clock.sleep(until: clock.now.advanced(by: .milliseconds(100)), tolerance: nil)
        }
    }

    /// The most advanced rule: one that acted, else one pending (with its `for` countdown), else nil.
    var leadingEvaluation: RuleEvaluation? {
        state.withLock { state in
            let evaluations = state.latest.values.sorted { $0.rule < $1.rule }
            return evaluations.first { $0.decision != nil } ?? evaluations.first { $0.state == .pending }
                ?? evaluations.first { $0.state == .firing }
        }
    }
}
