import AutorebalancerCore
import Foundation
import Synchronization

/// Keeps what the agent decided during the demo, for the display and the summary.
final class DemoRecorder: TickReportSink {
    struct State {
        var decisions: [DecisionRecord] = []
        /// The newest evaluation of each rule.
        var latest: [String: RuleEvaluation] = [:]
        /// The agent has observed the cluster's nodes at least once.
        var observed = false
        /// How late the scenario's events run because the agent's first observation came late (see `DemoDirector`).
        var scenarioDelay: Duration = .zero
    }

    let state = Mutex(State())

    func publish(_ report: TickReport) async {
        state.withLock { state in
            for cluster in report.clusters {
                if cluster.observed, cluster.snapshot?.nodes.isEmpty == false { state.observed = true }
                state.decisions += cluster.decisions
                for evaluation in cluster.evaluations { state.latest[evaluation.rule] = evaluation }
            }
        }
    }

    var decisions: [DecisionRecord] { state.withLock { $0.decisions } }

    var hasObserved: Bool { state.withLock { $0.observed } }

    var scenarioDelay: Duration {
        get { state.withLock { $0.scenarioDelay } }
        set { state.withLock { $0.scenarioDelay = newValue } }
    }

    /// The most advanced rule: one that acted, else one pending (with its `for` countdown), else nil.
    var leadingEvaluation: RuleEvaluation? {
        state.withLock { state in
            let evaluations = state.latest.values.sorted { $0.rule < $1.rule }
            return evaluations.first { $0.decision != nil } ?? evaluations.first { $0.phase == .pending }
                ?? evaluations.first { $0.phase == .firing }
        }
    }
}
