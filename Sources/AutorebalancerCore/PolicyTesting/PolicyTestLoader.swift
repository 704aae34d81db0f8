import Foundation
import Yams

/// Loads `kind: PolicyTest` files (text plus a file name), collecting every problem with its position.
public enum PolicyTestLoader {
    public static let kind = "PolicyTest"
    /// Step 0 when a test gives no `start`.
    public static let defaultStart = Date(timeIntervalSince1970: 1_795_168_800)  // 2026-11-20T10:00:00Z

    static let topKeys = ["apiVersion", "kind", "policies", "evaluationInterval", "tests"]
    static let testKeys = [
        "name", "cluster", "instanceKind", "start", "duration", "series", "facts", "rebalances", "agentRebalances",
        "ineffectiveResetAt", "createFailures", "createRetryBackoff", "createRetryBackoffMax", "expect",
    ]
    static let seriesKeys = [
        "node", "role", "connections", "sessions", "uptime", "restartCounter", "joinAt", "leaveAt",
    ]
    static let factKeys = [
        "at", "ready", "upgrading", "evacuating", "scalingIn", "rebalanceRunning", "enterprise", "operatorPaused",
        "scalingDown",
        "nodesWanted", "nodesRunning", "cannotAct",
    ]
    static let rebalanceKeys = ["name", "at", "duration", "ours", "rule", "outcome"]
    static let agentKeys = ["duration", "outcome"]
    static let createFailureKeys = ["from", "until", "reason"]
    /// `phase` is the older name of `state`, still accepted.
    static let expectKeys = ["at", "decisions", "whyNot", "state", "phase"]
    static let decisionKeys = ["rule", "action", "connEvictRate", "donors", "recipients"]
    static let whyNotKeys = ["reason", "detail"]

    public static func load(text: String, file: String) -> (file: PolicyTestFile?, diagnostics: [Diagnostic]) {
        let r = YAMLReader(file: file)
        guard let root = r.parse(text), let top = r.mapping(root, "document") else { return (nil, r.diagnostics) }
        r.checkKeys(top, allowed: topKeys, "")
        PolicyLoader.checkHeader(top, root, r, kind: kind)
        var result = PolicyTestFile(policies: [], policyLocations: [], evaluationInterval: nil, tests: [])
        if let list = r.sequence(r.value(top, "policies"), "policies") {
            for node in list {
                if let name = r.string(node, "policies") {
                    result.policies.append(name)
                    result.policyLocations.append(r.location(of: node))
                }
            }
            if list.isEmpty { r.error("policies: name at least one policy file", at: top["policies"]) }
        } else if r.value(top, "policies") == nil {
            r.error("missing \"policies\" (the policy files to test, relative to this file)", at: root)
        }
        result.evaluationInterval = r.duration(
            r.value(top, "evaluationInterval"),
            "evaluationInterval",
            allowZero: false,
            maximum: PolicyDocument.Limits.maximumInterval
        )
        if let tests = r.sequence(r.value(top, "tests"), "tests") {
            if tests.isEmpty { r.error("tests: the test list is empty", at: top["tests"]) }
            for (index, node) in tests.enumerated() {
                if let test = readTest(node, "tests[\(index)]", r) { result.tests.append(test) }
            }
        } else if r.value(top, "tests") == nil {
            r.error("missing \"tests\"", at: root)
        }
        return (r.diagnostics.hasErrors ? nil : result, r.diagnostics)
    }

    static func readTest(_ node: Node, _ path: String, _ r: YAMLReader) -> PolicyTestCase? {
        guard let m = r.mapping(node, path) else { return nil }
        r.checkKeys(m, allowed: testKeys, path)
        let name = r.string(r.value(m, "name"), "\(path).name") ?? path
        let label = "test \"\(name)\""
        var cluster = ClusterReference(namespace: "default", name: "emqx")
        if let text = r.string(r.value(m, "cluster"), "\(label): cluster") {
            let parts = text.split(separator: "/")
            if parts.count == 2 {
                cluster = ClusterReference(namespace: String(parts[0]), name: String(parts[1]))
            } else {
                r.error("\(label): cluster \"\(text)\" must be namespace/name", at: m["cluster"])
            }
        }
        if let text = r.string(r.value(m, "instanceKind"), "\(label): instanceKind") {
            if let kind = InstanceKind(rawValue: text) {
                cluster.kind = kind
            } else {
                r.error("\(label): instanceKind \"\(text)\" must be EMQX or EmqxEnterprise", at: m["instanceKind"])
            }
        }
        var start = defaultStart
        if let text = r.string(r.value(m, "start"), "\(label): start") {
            if let date = KubernetesTime.parse(text) {
                // The same window as a backtest's times: the replay, its Rebalances and their names stay representable.
                if date < SampleCheck.earliestTime || date > SampleCheck.latestTime {
                    r.error("\(label): start \"\(text)\" is outside 2000-01-01 … 2200-01-01", at: m["start"])
                } else {
                    start = date
                }
            } else {
                r.error(
                    "\(label): start \"\(text)\" is not an RFC 3339 time (e.g. 2026-11-20T10:00:00Z)",
                    at: m["start"]
                )
            }
        }
        var test = PolicyTestCase(
            name: name,
            location: r.location(of: node),
            cluster: cluster,
            start: start,
            duration: r.duration(r.value(m, "duration"), "\(label): duration"),
            series: [],
            facts: [],
            rebalances: [],
            agentRebalanceDuration: 60,
            agentRebalanceOutcome: .balanced,
            ineffectiveResetAt: r.duration(
                r.value(m, "ineffectiveResetAt"),
                "\(label): ineffectiveResetAt",
                allowNegative: true
            ),
            createFailures: [],
            createRetry: .default,
            expectations: []
        )

        func series(_ node: Node?, _ p: String, _ quantity: SampleCheck.Quantity = .count) -> [SeriesValue]? {
            guard let node else { return nil }
            let text: String?
            if case .scalar(let s) = node { text = s.string } else { text = r.string(node, p) }
            guard let text else { return nil }
            switch SeriesNotation.parse(text) {
            case .success(let values):
                // The same rule as for live samples: a value no node could report is refused, not replayed.
                for (step, value) in values.enumerated() {
                    guard case .sample(let number) = value,
                        let problem = SampleCheck.problem(with: number, as: quantity)
                    else { continue }
                    r.error("\(p): step \(step) is \(SampleCheck.describe(number)), which \(problem)", at: node)
                    return nil
                }
                return values
            case .failure(let error):
                r.error("\(p): \(error)", at: node)
                return nil
            }
        }

        if let list = r.sequence(r.value(m, "series"), "\(label): series") {
            var seen = Set<String>()
            for (i, sn) in list.enumerated() {
                let p = "\(label): series[\(i)]"
                guard let sm = r.mapping(sn, p) else { continue }
                r.checkKeys(sm, allowed: seriesKeys, p)
                guard let nodeName = r.string(r.value(sm, "node"), "\(p).node") else {
                    if r.value(sm, "node") == nil { r.error("\(p).node is required", at: sn) }
                    continue
                }
                if !seen.insert(nodeName).inserted {
                    r.error("\(p): node \"\(nodeName)\" has two series", at: sm["node"])
                }
                var role: NodeRole?
                if let text = r.string(r.value(sm, "role"), "\(p).role") {
                    role = NodeRole(rawValue: text)
                    if role == nil { r.error("\(p).role \"\(text)\" must be core or replicant", at: sm["role"]) }
                }
                guard let connections = series(r.value(sm, "connections"), "\(p).connections") else {
                    if r.value(sm, "connections") == nil { r.error("\(p).connections is required", at: sn) }
                    continue
                }
                test.series.append(
                    NodeSeries(
                        node: nodeName,
                        role: role,
                        connections: connections,
                        sessions: series(r.value(sm, "sessions"), "\(p).sessions"),
                        uptime: series(r.value(sm, "uptime"), "\(p).uptime", .uptime),
                        restartCounter: series(r.value(sm, "restartCounter"), "\(p).restartCounter", .counter),
                        joinAt: r.duration(r.value(sm, "joinAt"), "\(p).joinAt") ?? 0,
                        leaveAt: r.duration(r.value(sm, "leaveAt"), "\(p).leaveAt")
                    )
                )
            }
        } else if r.value(m, "series") == nil {
            r.error("\(label): series is required (one per node)", at: node)
        }

        if let list = r.sequence(r.value(m, "facts"), "\(label): facts") {
            for (i, fn) in list.enumerated() {
                let p = "\(label): facts[\(i)]"
                guard let fm = r.mapping(fn, p) else { continue }
                r.checkKeys(fm, allowed: factKeys, p)
                let at = r.duration(r.value(fm, "at"), "\(p).at") ?? 0
                var facts = ClusterFacts(
                    ready: r.bool(r.value(fm, "ready"), "\(p).ready"),
                    upgrading: r.bool(r.value(fm, "upgrading"), "\(p).upgrading"),
                    evacuating: r.bool(r.value(fm, "evacuating"), "\(p).evacuating"),
                    scalingIn: r.bool(r.value(fm, "scalingIn"), "\(p).scalingIn"),
                    rebalanceRunning: r.bool(r.value(fm, "rebalanceRunning"), "\(p).rebalanceRunning"),
                    enterprise: r.bool(r.value(fm, "enterprise"), "\(p).enterprise"),
                    operatorPaused: r.bool(r.value(fm, "operatorPaused"), "\(p).operatorPaused")
                )
                if let pods = r.sequence(r.value(fm, "scalingDown"), "\(p).scalingDown") {
                    facts.podsBeingRemoved = pods.enumerated().compactMap { r.string($1, "\(p).scalingDown[\($0)]") }
                }
                let wanted = r.int(r.value(fm, "nodesWanted"), "\(p).nodesWanted", minimum: 0)
                let running = r.int(r.value(fm, "nodesRunning"), "\(p).nodesRunning", minimum: 0)
                if wanted != nil || running != nil {
                    guard let wanted, let running else {
                        r.error("\(p): nodesWanted and nodesRunning go together", at: fn)
                        continue
                    }
                    facts.nodesPending = NodesPending(wanted: wanted, running: running, role: .replicant)
                }
                facts.cannotAct = r.string(r.value(fm, "cannotAct"), "\(p).cannotAct")
                test.facts.append(FactChange(at: at, facts: facts))
            }
        }

        func outcome(_ node: Node?, _ p: String) -> RebalanceOutcome? {
            guard let text = r.string(node, p) else { return nil }
            let all = ["balanced", "improved", "ineffective", "nothing-to-balance", "failed"]
            guard let value = RebalanceOutcome(rawValue: text) else {
                r.error(
                    "\(p): \"\(text)\"\(Suggestion.didYouMean(text, among: all)) is not one of \(all.joined(separator: ", "))",
                    at: node
                )
                return nil
            }
            return value
        }

        if let list = r.sequence(r.value(m, "rebalances"), "\(label): rebalances") {
            for (i, rn) in list.enumerated() {
                let p = "\(label): rebalances[\(i)]"
                guard let rm = r.mapping(rn, p) else { continue }
                r.checkKeys(rm, allowed: rebalanceKeys, p)
                guard let at = r.duration(r.value(rm, "at"), "\(p).at", allowNegative: true) else {
                    if r.value(rm, "at") == nil { r.error("\(p).at is required", at: rn) }
                    continue
                }
                test.rebalances.append(
                    ScriptedRebalance(
                        name: r.string(r.value(rm, "name"), "\(p).name") ?? "rebalance-\(i)",
                        at: at,
                        duration: r.duration(r.value(rm, "duration"), "\(p).duration"),
                        ours: r.bool(r.value(rm, "ours"), "\(p).ours") ?? false,
                        rule: r.string(r.value(rm, "rule"), "\(p).rule"),
                        outcome: outcome(r.value(rm, "outcome"), "\(p).outcome")
                    )
                )
            }
        }
        if let am = r.mapping(r.value(m, "agentRebalances"), "\(label): agentRebalances") {
            r.checkKeys(am, allowed: agentKeys, "\(label): agentRebalances")
            if let d = r.duration(r.value(am, "duration"), "\(label): agentRebalances.duration") {
                test.agentRebalanceDuration = d
            }
            if let o = outcome(r.value(am, "outcome"), "\(label): agentRebalances.outcome") {
                test.agentRebalanceOutcome = o
            }
        }

        if let list = r.sequence(r.value(m, "createFailures"), "\(label): createFailures") {
            for (i, fn) in list.enumerated() {
                let p = "\(label): createFailures[\(i)]"
                guard let fm = r.mapping(fn, p) else { continue }
                r.checkKeys(fm, allowed: createFailureKeys, p)
                let from = r.duration(r.value(fm, "from"), "\(p).from") ?? 0
                let until = r.duration(r.value(fm, "until"), "\(p).until")
                if let until, until <= from {
                    r.error(
                        "\(p): until (\(DurationText.format(until))) must be after from (\(DurationText.format(from)))",
                        at: fm["until"]
                    )
                }
                var kind = ActionFailure.Kind.forbidden
                if let text = r.string(r.value(fm, "reason"), "\(p).reason") {
                    let all = ActionFailure.Kind.allCases.map(\.rawValue)
                    if let value = ActionFailure.Kind(rawValue: text) {
                        kind = value
                    } else {
                        r.error(
                            "\(p).reason \"\(text)\"\(Suggestion.didYouMean(text, among: all)) is not one of \(all.joined(separator: ", "))",
                            at: fm["reason"]
                        )
                    }
                }
                test.createFailures.append(DeclaredCreateFailure(from: from, until: until, kind: kind))
            }
        }
        let backoff =
            r.duration(r.value(m, "createRetryBackoff"), "\(label): createRetryBackoff", allowZero: false)
            ?? test.createRetry.initialBackoff
        let backoffMax =
            r.duration(r.value(m, "createRetryBackoffMax"), "\(label): createRetryBackoffMax", allowZero: false)
            ?? max(test.createRetry.maximumBackoff, backoff)
        if backoffMax < backoff {
            r.error(
                "\(label): createRetryBackoffMax (\(DurationText.format(backoffMax))) is below createRetryBackoff (\(DurationText.format(backoff)))",
                at: m["createRetryBackoffMax"]
            )
        }
        test.createRetry = CreateRetryPolicy(
            initialBackoff: backoff,
            maximumBackoff: backoffMax,
            escalateAfter: test.createRetry.escalateAfter
        )

        if let list = r.sequence(r.value(m, "expect"), "\(label): expect") {
            for (i, en) in list.enumerated() {
                let p = "\(label): expect[\(i)]"
                guard let em = r.mapping(en, p) else { continue }
                r.checkKeys(em, allowed: expectKeys, p)
                guard let at = r.duration(r.value(em, "at"), "\(p).at") else {
                    if r.value(em, "at") == nil { r.error("\(p).at is required", at: en) }
                    continue
                }
                var expectation = Expectation(
                    at: at,
                    location: r.location(of: en),
                    decisions: nil,
                    whyNot: [:],
                    states: [:]
                )
                if let decisionsNode = r.value(em, "decisions") {
                    expectation.decisions = []
                    for (j, dn) in (r.sequence(decisionsNode, "\(p).decisions") ?? []).enumerated() {
                        let dp = "\(p).decisions[\(j)]"
                        guard let dm = r.mapping(dn, dp) else { continue }
                        r.checkKeys(dm, allowed: decisionKeys, dp)
                        guard let rule = r.string(r.value(dm, "rule"), "\(dp).rule") else {
                            r.error("\(dp).rule is required", at: dn)
                            continue
                        }
                        var action = DecisionAction.rebalance
                        if let text = r.string(r.value(dm, "action"), "\(dp).action") {
                            if let a = DecisionAction(rawValue: text), a != .blocked {
                                action = a
                            } else {
                                r.error("\(dp).action \"\(text)\" must be rebalance or alert", at: dm["action"])
                            }
                        }
                        func names(_ key: String) -> [String]? {
                            r.sequence(r.value(dm, key), "\(dp).\(key)")?.compactMap { r.string($0, "\(dp).\(key)") }
                        }
                        expectation.decisions?.append(
                            ExpectedDecision(
                                rule: rule,
                                action: action,
                                connEvictRate: r.int(r.value(dm, "connEvictRate"), "\(dp).connEvictRate", minimum: 1),
                                donors: names("donors"),
                                recipients: names("recipients")
                            )
                        )
                    }
                }
                if let wm = r.mapping(r.value(em, "whyNot"), "\(p).whyNot") {
                    for (key, value) in wm {
                        guard let rule = key.string else { continue }
                        let wp = "\(p).whyNot.\(rule)"
                        var reasonNode: Node? = value
                        var detail: String?
                        if case .mapping(let vm) = value {
                            r.checkKeys(vm, allowed: whyNotKeys, wp)
                            reasonNode = r.value(vm, "reason")
                            detail = r.string(r.value(vm, "detail"), "\(wp).detail")
                        }
                        guard let text = r.string(reasonNode, wp) else { continue }
                        if text == "none" {
                            expectation.whyNot[rule] = ExpectedWhyNot(reason: nil, detail: nil)
                        } else if let reason = BlockReason(rawValue: text) {
                            expectation.whyNot[rule] = ExpectedWhyNot(reason: reason, detail: detail)
                        } else {
                            let all = BlockReason.allCases.map(\.rawValue)
                            r.error(
                                "\(wp): unknown reason \"\(text)\"\(Suggestion.didYouMean(text, among: all)); expected none or one of \(all.joined(separator: ", "))",
                                at: reasonNode
                            )
                        }
                    }
                }
                if r.value(em, "state") != nil, r.value(em, "phase") != nil {
                    r.error("\(p): give either state or phase (its older name), not both", at: em["phase"])
                }
                let stateKey = r.value(em, "state") != nil ? "state" : "phase"
                if let sm = r.mapping(r.value(em, stateKey), "\(p).\(stateKey)") {
                    for (key, value) in sm {
                        guard let rule = key.string, let text = r.string(value, "\(p).\(stateKey).\(rule)") else {
                            continue
                        }
                        if let state = RuleState(name: text) {
                            expectation.states[rule] = state
                        } else {
                            let all = RuleState.allCases.map(\.rawValue)
                            let known = all + RuleState.aliases.keys.sorted()
                            r.error(
                                "\(p).\(stateKey).\(rule): unknown state \"\(text)\"\(Suggestion.didYouMean(text, among: known)); expected one of \(all.joined(separator: ", "))",
                                at: value
                            )
                        }
                    }
                }
                test.expectations.append(expectation)
            }
        } else if r.value(m, "expect") == nil {
            r.error("\(label): expect is required (what must hold at which times)", at: node)
        }
        return test
    }
}

/// `check` for `kind: PolicyTest` (the file itself; the policies it names are checked when given to `check` too).
public struct PolicyTestChecker: DocumentChecker {
    public init() {}
    public var kind: String { PolicyTestLoader.kind }
    public func check(text: String, file: String) -> [Diagnostic] {
        PolicyTestLoader.load(text: text, file: file).diagnostics
    }
}
