import Act
import Agent
import AutorebalancerCore
import Foundation
import ServiceLifecycle
import Simulation
import Synchronization

/// Watches the demo world every simulated second: samples the nodes, follows the Rebalance, tells the display, and
/// ends the demo once the agent has judged its rebalance (or the scenario's time is up).
final class DemoMonitor: Service, Sendable {
    struct State {
        var timeline: [(seconds: Double, nodes: [String: (connections: Int, sessions: Int)])] = []
        var markers: [DemoRunner.Marker] = []
        var phase = "observing"
        var lastPhase: String?
        var seenDecisions = 0
        var rebalancePhases: [String: String] = [:]
        var createdSeconds: Double?
        var completedSeconds: Double?
        var finished = false
        var outcome: String?
        var nodeOrder: [String] = []
        /// The agent refused with `cannot-act` (an alert-only cluster) instead of rebalancing.
        var refused = false
        /// `hpa`: when the scale-in started and ended (seconds), and whether the agent saw the node leave.
        var scaleInAt: Double?
        var scaleInDoneAt: Double?
        var sawRemoval = false
        var rebalancesAtScaleIn = 0
    }

    let cluster: SimulatedEMQXCluster
    let api: SimulatedKubernetesAPI
    let reference: ClusterReference
    let recorder: DemoRecorder
    let clock: SimulationClock
    let plan: DemoScenario.Plan
    let scenario: DemoScenario
    let maxDuration: Duration
    let progress: @Sendable (DemoRunner.Progress) -> Void
    let state = Mutex(State())

    init(
        cluster: SimulatedEMQXCluster,
        api: SimulatedKubernetesAPI,
        reference: ClusterReference,
        recorder: DemoRecorder,
        clock: SimulationClock,
        plan: DemoScenario.Plan,
        scenario: DemoScenario,
        maxDuration: Duration,
        progress: @escaping @Sendable (DemoRunner.Progress) -> Void
    ) {
        self.cluster = cluster
        self.api = api
        self.reference = reference
        self.recorder = recorder
        self.clock = clock
        self.plan = plan
        self.scenario = scenario
        self.maxDuration = maxDuration
        self.progress = progress
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            // Samples count from the timeline's origin (the agent's first look at the cluster, normally 0). The agent
            // gets at least a minute of wall time for that first look: on a loaded machine it can be that late.
            let limit = max(self.maxDuration, .seconds(60) * self.clock.speed)
            guard let origin = try await self.recorder.waitForOrigin(clock: self.clock, limit: limit) else {
                self.progress(
                    .note(
                        seconds: self.clock.now.offset.seconds,
                        "the agent never observed the cluster: its metric source kept failing"
                    )
                )
                return
            }
            var elapsed = Duration.zero
            while true {
                try await self.clock.sleep(until: SimulationClock.Instant(offset: origin + elapsed), tolerance: nil)
                if self.sample(at: elapsed.seconds, origin: origin) { return }
                if elapsed >= self.maxDuration { return }
                elapsed += .seconds(1)
            }
        }
    }

    /// One look at the world; `true` when the demo is over.
    func sample(at seconds: Double, origin: Duration) -> Bool {
        // Only the rebalanced set: replicants where the cluster has any.
        let running = cluster.nodes.filter(\.isRunning)
        let nodes = (running.contains { $0.role == .replicant } ? running.filter { $0.role == .replicant } : running)
            .sorted { ($0.role == .core ? 0 : 1, $0.ordinal) < ($1.role == .core ? 0 : 1, $1.ordinal) }
        let ours = DemoRebalance.ours(in: api, for: reference)
        let decisions = recorder.decisions
        let whyNots = recorder.whyNots
        let leading = recorder.leadingEvaluation
        let waiting = recorder.latestEvaluations.compactMap(\.whyNot).first { $0.reason == .waitingForNodes }
        var notes: [String] = []
        var newDecisions: [DecisionRecord] = []
        let (phase, done) = state.withLock { state -> (String, Bool) in
            state.timeline.append(
                (
                    seconds,
                    Dictionary(
                        nodes.map { ($0.name, ($0.liveConnections, $0.sessions)) },
                        uniquingKeysWith: { a, _ in a }
                    )
                )
            )
            for node in nodes where !state.nodeOrder.contains(node.name) { state.nodeOrder.append(node.name) }
            newDecisions = Array(decisions.dropFirst(state.seenDecisions))
            for (offset, decision) in newDecisions.enumerated() {
                let index = state.seenDecisions + offset
                state.markers.append(
                    .init(
                        seconds: seconds,
                        label: "\(decision.rule): \(decision.action.rawValue)",
                        kind: decision.action.rawValue,
                        formula: decision.formula,
                        whyNot: index < whyNots.count ? whyNots[index] : []
                    )
                )
            }
            state.seenDecisions = decisions.count
            for rebalance in ours {
                let name = rebalance.name
                let phase = rebalance.phase ?? "created"
                if state.rebalancePhases[name] != phase {
                    let judged = rebalance.outcome != nil
                    state.rebalancePhases[name] = phase
                    notes.append(
                        "\(rebalance.kind) \(name): \(phase)"
                            + (judged && phase == "Failed" && rebalance.kind == "Rebalance"
                                ? " (the operator rewrites a finished Rebalance while the cluster is not Ready; the judged outcome stands)"
                                : "")
                    )
                    state.markers.append(
                        .init(seconds: seconds, label: "\(name): \(phase)", kind: "phase", formula: nil, whyNot: [])
                    )
                }
                if state.createdSeconds == nil, let created = rebalance.createdAt {
                    state.createdSeconds = created.timeIntervalSince(clock.startDate) - origin.seconds
                }
                if let completed = rebalance.completedAt {
                    state.completedSeconds = completed.timeIntervalSince(clock.startDate) - origin.seconds
                }
                if let outcome = rebalance.outcome {
                    if state.outcome != outcome { notes.append("outcome judged from metrics: \(outcome)") }
                    state.outcome = outcome
                }
            }
            if decisions.contains(where: { $0.action == .alert && $0.reason == .cannotAct }) { state.refused = true }
            scaleIn(&state, at: seconds, rebalances: ours.count, notes: &notes)
            let latest = ours.last
            let phase: String
            switch (latest?.progress, state.outcome) {
            case (_, .some(let outcome)): phase = "done (\(outcome))"
            case (.completed?, nil): phase = "completed, judging"
            case (.failed?, nil): phase = "failed"
            case (.processing?, _): phase = "evicting"
            case (nil, _) where latest != nil: phase = "\(latest?.kind ?? "Rebalance") created"
            case _ where state.refused: phase = "alert-only: the agent cannot rebalance here"
            case _ where waiting != nil: phase = waiting?.detail ?? ""
            default:
                if let leading, leading.state == .pending {
                    phase = "pending" + (leading.forRemaining.map { " (\(DurationText.format($0)) left on for)" } ?? "")
                } else {
                    phase = "observing"
                }
            }
            state.phase =
                state.scaleInAt != nil && state.scaleInDoneAt == nil
                ? "scale-in: evacuating, the agent stands back" : phase
            let done = isDone(state, at: seconds)
            state.finished = done
            return (state.phase, done)
        }
        for decision in newDecisions { progress(.decision(seconds: seconds, decision)) }
        for note in notes { progress(.note(seconds: seconds, note)) }
        progress(
            .sample(seconds: seconds, phase: phase, nodes: nodes.map { ($0.name, $0.liveConnections, $0.sessions) })
        )
        return done
    }

    /// `hpa`: once the scale-out is dealt with (judged, or refused where the agent cannot act), the HPA scales the
    /// replicants in; the scale-in is over when the operator has removed the evacuated node.
    func scaleIn(_ state: inout State, at seconds: Double, rebalances: Int, notes: inout [String]) {
        guard let target = plan.scaleInTo else { return }
        if state.scaleInAt == nil, state.outcome != nil || state.refused {
            state.scaleInAt = seconds
            state.rebalancesAtScaleIn = rebalances
            state.markers.append(
                .init(seconds: seconds, label: "HPA: replicants → \(target)", kind: "phase", formula: nil, whyNot: [])
            )
            do {
                try api.scaleReplicants(namespace: reference.namespace, name: reference.name, to: target)
                notes.append("HPA scales the replicants in to \(target): the operator evacuates one before removing it")
            } catch {
                notes.append("scale-in failed: \(error)")
            }
        }
        guard let started = state.scaleInAt, state.scaleInDoneAt == nil, seconds > started else { return }
        if let facts = recorder.facts, facts.evacuating == true || facts.podsBeingRemoved?.isEmpty == false {
            if !state.sawRemoval {
                let pods =
                    facts.podsBeingRemoved.map {
                        $0.isEmpty ? "" : ", pod(s) \($0.joined(separator: ", ")) marked apps.emqx.io/scaling-down"
                    } ?? ""
                notes.append(
                    "the agent sees the node being removed (evacuating\(pods)): it leaves it out and stands back"
                )
            }
            state.sawRemoval = true
        }
        if cluster.nodes.filter({ $0.role == .replicant }).count == target {
            state.scaleInDoneAt = seconds
            notes.append("scale-in done: the evacuated replicant left the cluster")
        }
    }

    /// Whether the demo is over: the scenario's expectation can be judged.
    func isDone(_ state: State, at seconds: Double) -> Bool {
        if plan.scaleInTo != nil {
            guard let doneAt = state.scaleInDoneAt else { return false }
            return seconds >= doneAt + 10  // an agent cycle after the node left
        }
        return plan.expectsRebalance && (state.outcome != nil || state.refused)
    }

    /// The summary once the demo is over.
    func result(decisions: [DecisionRecord]) throws -> DemoRunner.Result {
        let origin = recorder.origin ?? .zero
        let startDate = clock.date(of: SimulationClock.Instant(offset: origin))
        let ours = DemoRebalance.ours(in: api, for: reference)
        return state.withLock { state in
            // "Before" is what the agent acted on (at the Rebalance's creation), or the onset when nothing was created.
            let onset = plan.onset.seconds
            let beforeAt = state.createdSeconds ?? onset + 1
            let before = state.timeline.last { $0.seconds <= beforeAt } ?? state.timeline.first
            // With a scale-in after the rebalance (`hpa`), "after" is the cluster as the rebalance left it.
            let after =
                state.scaleInAt.flatMap { at in state.timeline.last { $0.seconds <= at } } ?? state.timeline.last
            func counts(
                _ entry: (seconds: Double, nodes: [String: (connections: Int, sessions: Int)])?
            ) -> [String: DemoSummary.Counts] {
                (entry?.nodes ?? [:]).mapValues {
                    DemoSummary.Counts(connections: $0.connections, sessions: $0.sessions)
                }
            }
            let summary = DemoSummary(
                scenario: scenario.rawValue,
                before: counts(before),
                after: counts(after),
                rebalances: ours.map(\.summary),
                times: .init(
                    onsetSeconds: onset,
                    createdSeconds: state.createdSeconds,
                    completedSeconds: state.completedSeconds
                ),
                decisions: decisions,
                outcome: state.outcome
            )
            var met = plan.expectsRebalance ? state.outcome != nil || (state.refused && ours.isEmpty) : ours.isEmpty
            if plan.scaleInTo != nil {
                // Nothing created during the scale-in, and the agent saw the node leave.
                met = met && state.scaleInDoneAt != nil && state.sawRemoval && ours.count == state.rebalancesAtScaleIn
            }
            return DemoRunner.Result(
                summary: summary,
                timeline: state.timeline.map { ($0.seconds, $0.nodes.mapValues(\.connections)) },
                markers: state.markers,
                startDate: startDate,
                nodeOrder: state.nodeOrder,
                expectationMet: met,
                longestEvaluationGap: recorder.longestEvaluationGap
            )
        }
    }
}
