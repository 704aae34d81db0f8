import Foundation

/// A policy file's text and the name to use in diagnostics, as the caller read it.
public struct PolicySource: Sendable, Hashable {
    public var text: String
    public var file: String

    public init(text: String, file: String) {
        self.text = text
        self.file = file
    }
}

/// One expectation that did not hold, with a readable expected/got diff.
public struct PolicyTestFailure: Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var test: String
    public var at: TimeInterval
    public var time: Date
    /// Lines of the diff: `- expected …` / `+ got …` and context.
    public var lines: [String]

    public var description: String {
        (["\(location): test \"\(test)\" at \(DurationText.format(at)) (\(KubernetesTime.format(time))):"]
            + lines.map { "    \($0)" }).joined(separator: "\n")
    }
}

/// The outcome of one test case.
public struct PolicyTestCaseResult: Sendable, Hashable {
    public var name: String
    public var location: SourceLocation
    public var failures: [PolicyTestFailure]
    public var passed: Bool { failures.isEmpty }
}

/// The outcome of one test file: load problems (diagnostics) and per-test results.
public struct PolicyTestFileResult: Sendable, Hashable {
    public var file: String
    /// Problems in the test file or in the policies it names; any error fails the file.
    public var diagnostics: [Diagnostic]
    public var cases: [PolicyTestCaseResult]

    public init(file: String, diagnostics: [Diagnostic], cases: [PolicyTestCaseResult]) {
        self.file = file
        self.diagnostics = diagnostics
        self.cases = cases
    }

    public var passed: Int { cases.filter(\.passed).count }
    /// Failed tests; a file that could not be loaded (no test ran) counts as one failure.
    public var failed: Int { cases.filter { !$0.passed }.count + (diagnostics.hasErrors && cases.isEmpty ? 1 : 0) }
}

/// Runs `kind: PolicyTest` files: replays the input series through `PolicyEngine` on a synthetic evaluation clock and
/// compares decisions, why-nots and rule states at the expected instants.
public enum PolicyTestRunner {
    /// Runs every test of one file.
    /// - Parameters:
    ///   - text: the test file's YAML.
    ///   - file: its name, for diagnostics.
    ///   - loadPolicy: reads a policy named in the file (as written, relative to the test file); `nil` when unreadable.
    public static func run(text: String, file: String, loadPolicy: (String) -> PolicySource?) -> PolicyTestFileResult {
        let (testFile, diagnostics) = PolicyTestLoader.load(text: text, file: file)
        var result = PolicyTestFileResult(file: file, diagnostics: diagnostics, cases: [])
        guard let testFile else { return result }
        var policies: [Policy] = []
        for (name, location) in zip(testFile.policies, testFile.policyLocations) {
            guard let source = loadPolicy(name) else {
                result.diagnostics.append(
                    Diagnostic(
                        .error,
                        at: location,
                        "cannot read policy file \"\(name)\" (paths are relative to the test file)"
                    )
                )
                continue
            }
            let loaded = PolicyLoader.load(text: source.text, file: source.file)
            result.diagnostics += loaded.diagnostics.filter { $0.severity == .error }
            if let policy = loaded.policy { policies.append(policy) }
        }
        guard !result.diagnostics.hasErrors else { return result }
        for test in testFile.tests {
            let (failures, problems) = run(test, policies: policies, intervalOverride: testFile.evaluationInterval)
            result.diagnostics += problems
            result.cases.append(PolicyTestCaseResult(name: test.name, location: test.location, failures: failures))
        }
        return result
    }

    /// One evaluation step of a replay, for callers that want the whole trace.
    public struct Step: Sendable {
        public var offset: TimeInterval
        public var time: Date
        public var evaluations: [RuleEvaluation]
        public var decisions: [DecisionRecord]
    }

    /// The most evaluation steps one test replays (a day at one evaluation per second).
    public static let maximumSteps = SeriesNotation.maximumLength

    /// The offset the replay of `test` ends at.
    static func end(of test: PolicyTestCase, interval: TimeInterval) -> TimeInterval {
        let lastExpectation = test.expectations.map(\.at).max() ?? 0
        let longest = Double(max(0, (test.series.map(\.connections.count).max() ?? 1) - 1)) * interval
        return test.duration ?? max(lastExpectation, longest)
    }

    /// Replays one test case and returns every step (also used by `run`); never more than ``maximumSteps``.
    public static func replay(_ test: PolicyTestCase, policies: [Policy], interval: TimeInterval) -> [Step] {
        let end = end(of: test, interval: interval)
        var states: [ClusterEngineState?] = Array(repeating: nil, count: policies.count)
        var carried: [String: (NodeObservation, Date)] = [:]
        var agentRebalances: [ScriptedRebalance] = []
        var steps: [Step] = []
        var index = 0
        while Double(index) * interval <= end + 1e-9, index <= maximumSteps {
            let offset = Double(index) * interval
            let now = test.start.addingTimeInterval(offset)
            // Nodes.
            var expected: [String] = []
            var nodes: [NodeObservation] = []
            for s in test.series {
                guard s.joinAt <= offset, s.leaveAt.map({ offset < $0 }) ?? true else {
                    carried[s.node] = nil
                    continue
                }
                expected.append(s.node)
                func value(_ values: [SeriesValue]?) -> SeriesValue {
                    guard let values else { return .absent }
                    return index < values.count ? values[index] : .absent
                }
                switch value(s.connections) {
                case .absent:
                    carried[s.node] = nil
                case .carried:
                    if let entry = carried[s.node] { nodes.append(entry.0) }
                case .sample(let live):
                    func number(_ values: [SeriesValue]?) -> Double? {
                        if case .sample(let v) = value(values) { return v }
                        return nil
                    }
                    let observation = NodeObservation(
                        name: s.node,
                        role: s.role,
                        running: true,
                        liveConnections: live,
                        connections: live,
                        sessions: number(s.sessions),
                        observedAt: now,
                        uptimeSeconds: number(s.uptime),
                        restartCounter: number(s.restartCounter)
                    )
                    carried[s.node] = (observation, now)
                    nodes.append(observation)
                }
            }
            // Facts.
            var facts = ClusterFacts.assumedFine
            for change in test.facts.sorted(by: { $0.at < $1.at }) where change.at <= offset {
                let f = change.facts
                facts.ready = f.ready ?? facts.ready
                facts.upgrading = f.upgrading ?? facts.upgrading
                facts.evacuating = f.evacuating ?? facts.evacuating
                facts.scalingIn = f.scalingIn ?? facts.scalingIn
                facts.rebalanceRunning = f.rebalanceRunning ?? facts.rebalanceRunning
                facts.enterprise = f.enterprise ?? facts.enterprise
                facts.operatorPaused = f.operatorPaused ?? facts.operatorPaused
                facts.podsBeingRemoved = f.podsBeingRemoved ?? facts.podsBeingRemoved
                facts.nodesPending = f.nodesPending ?? facts.nodesPending
                facts.cannotAct = f.cannotAct ?? facts.cannotAct
            }
            // History as the cluster would show it now.
            let pasts = (test.rebalances + agentRebalances).filter { $0.at <= offset }.map { r -> PastRebalance in
                let created = test.start.addingTimeInterval(r.at)
                if let duration = r.duration, r.at + duration <= offset {
                    return PastRebalance(
                        name: r.name,
                        ours: r.ours,
                        rule: r.rule,
                        createdAt: created,
                        finishedAt: created.addingTimeInterval(duration),
                        phase: r.outcome == .failed ? .failed : .completed,
                        outcome: r.outcome
                    )
                }
                return PastRebalance(name: r.name, ours: r.ours, rule: r.rule, createdAt: created, phase: .processing)
            }
            let history = ActionHistory(
                rebalances: pasts,
                ineffectiveResetAt: test.ineffectiveResetAt.map { test.start.addingTimeInterval($0) }
            )
            let snapshot = ClusterSnapshot(
                cluster: test.cluster,
                takenAt: now,
                expectedNodes: expected,
                nodes: nodes,
                facts: facts
            )

            var step = Step(offset: offset, time: now, evaluations: [], decisions: [])
            for (p, policy) in policies.enumerated() {
                // No actuator: a decided rebalance is confirmed at once, unless the test declares its create fails.
                let decided = PolicyEngine.evaluate(
                    policy,
                    snapshot: snapshot,
                    history: history,
                    at: now,
                    previous: states[p]
                )
                let result: EngineResult
                if let failure = test.createFailures.first(where: { $0.covers(offset) }) {
                    let text =
                        "creating the Rebalance fails (declared by the test from \(DurationText.format(failure.from)))"
                    result = PolicyEngine.confirm(
                        decided,
                        .failed(ActionFailure(failure.kind, text)),
                        at: now,
                        retryPolicy: test.createRetry
                    )
                } else {
                    result = decided.confirmedAtOnce()
                }
                states[p] = result.state
                step.evaluations += result.evaluations
                step.decisions += result.decisions
                if let rebalance = result.rebalance {
                    agentRebalances.append(
                        ScriptedRebalance(
                            name: "\(rebalance.rule)-\(agentRebalances.count + 1)",
                            at: offset,
                            duration: test.agentRebalanceDuration,
                            ours: true,
                            rule: rebalance.rule,
                            outcome: test.agentRebalanceOutcome
                        )
                    )
                }
            }
            steps.append(step)
            index += 1
        }
        return steps
    }

    static func run(
        _ test: PolicyTestCase,
        policies: [Policy],
        intervalOverride: TimeInterval?
    ) -> ([PolicyTestFailure], [Diagnostic]) {
        let interval = intervalOverride ?? policies.first?.evaluationInterval ?? Policy.Defaults.evaluationInterval
        var problems: [Diagnostic] = []
        let ruleNames = Set(policies.flatMap { $0.rules.map(\.name) })
        for expectation in test.expectations {
            let ratio = expectation.at / interval
            if abs(ratio - ratio.rounded()) > 1e-9 {
                problems.append(
                    Diagnostic(
                        .error,
                        at: expectation.location,
                        "test \"\(test.name)\": at \(DurationText.format(expectation.at)) is not an evaluation instant (every \(DurationText.format(interval)))"
                    )
                )
            }
            for rule in Set(expectation.whyNot.keys).union(expectation.states.keys).union(
                (expectation.decisions ?? []).map(\.rule)
            )
            where !ruleNames.contains(rule) {
                problems.append(
                    Diagnostic(
                        .error,
                        at: expectation.location,
                        "test \"\(test.name)\": no rule \"\(rule)\" in the tested policies\(Suggestion.didYouMean(rule, among: Array(ruleNames)))"
                    )
                )
            }
        }
        let stepCount = (end(of: test, interval: interval) / interval).rounded(.down)
        if stepCount > Double(maximumSteps) {
            problems.append(
                Diagnostic(
                    .error,
                    at: test.location,
                    "test \"\(test.name)\": \(DurationText.format(end(of: test, interval: interval))) at an evaluation interval of \(DurationText.format(interval)) is \(BalanceEvaluation.format(stepCount)) steps; a test replays at most \(maximumSteps): shorten duration or lengthen evaluationInterval"
                )
            )
        }
        guard !problems.hasErrors else {
            return (
                [
                    PolicyTestFailure(
                        location: test.location,
                        test: test.name,
                        at: 0,
                        time: test.start,
                        lines: ["the test is invalid (see errors above)"]
                    )
                ], problems
            )
        }
        let steps = replay(test, policies: policies, interval: interval)
        var failures: [PolicyTestFailure] = []
        for expectation in test.expectations {
            guard let step = steps.first(where: { abs($0.offset - expectation.at) < 1e-9 }) else { continue }
            let lines = compare(expectation, step)
            if !lines.isEmpty {
                failures.append(
                    PolicyTestFailure(
                        location: expectation.location,
                        test: test.name,
                        at: expectation.at,
                        time: step.time,
                        lines: lines
                    )
                )
            }
        }
        return (failures, problems)
    }

    static func compare(_ expectation: Expectation, _ step: Step) -> [String] {
        var lines: [String] = []
        if let expected = expectation.decisions {
            var unmatched = step.decisions
            var missing: [ExpectedDecision] = []
            for e in expected {
                if let i = unmatched.firstIndex(where: { matches(e, $0) }) {
                    unmatched.remove(at: i)
                } else {
                    missing.append(e)
                }
            }
            if !missing.isEmpty || !unmatched.isEmpty {
                lines.append("decisions:")
                lines += expected.map { "  expected: \($0)" }
                if expected.isEmpty { lines.append("  expected: (none)") }
                lines += step.decisions.map { "  got:      \(describe($0))" }
                if step.decisions.isEmpty { lines.append("  got:      (none)") }
            }
        }
        for (rule, e) in expectation.whyNot.sorted(by: { $0.key < $1.key }) {
            guard let evaluation = step.evaluations.first(where: { $0.rule == rule }) else { continue }
            let got = evaluation.whyNot
            let ok: Bool
            if let reason = e.reason {
                ok = got?.reason == reason && (e.detail.map { got?.detail.contains($0) ?? false } ?? true)
            } else {
                ok = got == nil
            }
            if !ok {
                lines.append("why-not of \(rule):")
                lines.append("  expected: \(e)")
                lines.append("  got:      \(got.map(\.description) ?? "none")")
            }
        }
        for (rule, phase) in expectation.states.sorted(by: { $0.key < $1.key }) {
            guard let evaluation = step.evaluations.first(where: { $0.rule == rule }), evaluation.state != phase else {
                continue
            }
            lines.append("state of \(rule):")
            lines.append("  expected: \(phase.rawValue)")
            lines.append("  got:      \(evaluation.state.rawValue)")
        }
        if !lines.isEmpty {
            lines.append("rules at this instant:")
            lines += step.evaluations.map { "  \($0.summary)" }
        }
        return lines
    }

    static func matches(_ e: ExpectedDecision, _ d: DecisionRecord) -> Bool {
        e.rule == d.rule && e.action == d.action
            && (e.connEvictRate.map { $0 == d.strategy?.connEvictRate } ?? true)
            && (e.donors.map { Set($0) == Set(d.donors) } ?? true)
            && (e.recipients.map { Set($0) == Set(d.recipients) } ?? true)
    }

    static func describe(_ d: DecisionRecord) -> String {
        var text = "\(d.action.rawValue) by \(d.rule)"
        if let rate = d.strategy?.connEvictRate { text += " connEvictRate=\(rate)" }
        if !d.donors.isEmpty { text += " donors=\(d.donors)" }
        if !d.recipients.isEmpty { text += " recipients=\(d.recipients)" }
        return text
    }
}
