import Act
import AutorebalancerCore
import Foundation

/// The text `run --once` prints: per cluster, the facts, every node's counts, and each rule's evaluation with its
/// state, time left on `for`, the formula and the why-not.
public enum OnceReport {
    public static func render(_ report: TickReport) -> String {
        var lines: [String] = []
        for error in report.errors { lines.append("error: \(error)") }
        for cluster in report.clusters {
            lines.append(
                "cluster "
                    + (cluster.planLine(sources: cluster.sources.map(\.source))
                        ?? "\(cluster.cluster) (\(cluster.cluster.kind.rawValue))")
            )
            for error in cluster.errors { lines.append("  error: \(error)") }
            for attempt in cluster.sources {
                let status = attempt.error.map { "failed: \($0)" } ?? "ok"
                lines.append("  source \(attempt.source): \(status) (\(DurationText.format(attempt.duration.seconds)))")
                for warning in attempt.warnings { lines.append("    warning: \(warning)") }
            }
            if let snapshot = cluster.snapshot {
                let facts = snapshot.facts
                lines.append(
                    "  facts: "
                        + [
                            "ready=\(text(facts.ready))", "upgrading=\(text(facts.upgrading))",
                            "evacuating=\(text(facts.evacuating))",
                            "scaling-in=\(text(facts.scalingIn))", "rebalance-running=\(text(facts.rebalanceRunning))",
                        ].joined(separator: " ") + extraFacts(facts)
                )
                for note in cluster.notes { lines.append("    note: \(note)") }
                let expected = snapshot.expectedNodes ?? snapshot.nodes.map(\.name)
                for name in expected {
                    guard let node = snapshot.node(named: name) else {
                        lines.append("  node \(name): no sample")
                        continue
                    }
                    let age =
                        node.observedAt.map {
                            DurationText.format(max(0, snapshot.takenAt.timeIntervalSince($0))) + " old"
                        } ?? "age unknown"
                    lines.append(
                        "  node \(name): live \(count(node.liveConnections)), sessions \(count(node.sessions)) (\(age))"
                    )
                }
            }
            for outcome in cluster.policies {
                lines.append("  policy \(outcome.policy):")
                for evaluation in outcome.result.evaluations {
                    var line =
                        "    \(evaluation.rule) [\(evaluation.trigger.rawValue), \(evaluation.action.rawValue)]: \(evaluation.state.rawValue)"
                    if let remaining = evaluation.forRemaining {
                        line += ", \(DurationText.format(remaining)) left on for"
                    }
                    if let decision = evaluation.decision { line += " -> \(decision.action.rawValue)" }
                    lines.append(line)
                    if let connections = evaluation.connections {
                        lines.append("      connections: \(connections.formula)")
                    }
                    if let sessions = evaluation.sessions { lines.append("      sessions: \(sessions.formula)") }
                    if let why = evaluation.whyNot { lines.append("      why not: \(why)") }
                }
            }
            if let action = cluster.action { lines.append("  action: \(describe(action))") }
            for follow in cluster.follow {
                lines.append("  \(follow.recordAction == nil ? "rebalance" : "record"): \(follow)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ action: ActionReport) -> String {
        let object = action.object?.description ?? "the rebalance"
        switch action.result {
        case .confirmed: return action.alreadyExisted ? "\(object) already exists" : "created \(object)"
        case .failed(let failure): return "creating \(object) failed: \(failure)"
        case .notMade(.dryRun): return "would create \(object) (dry run: nothing written)"
        case .notMade(.notLeader): return "not created: not the leader (would create \(object))"
        case .notMade(.blocked(let why)): return "not created: \(why)"
        case .notMade(.otherRule(let why)): return "not created: \(why)"
        }
    }

    /// The facts only some operator generations have, shown where known.
    static func extraFacts(_ facts: ClusterFacts) -> String {
        var parts: [String] = []
        if let paused = facts.operatorPaused { parts.append("operator-paused=\(text(paused))") }
        if facts.podsUnreadable != nil {
            parts.append("scaling-down=unknown")
        } else if let pods = facts.podsBeingRemoved {
            parts.append("scaling-down=" + (pods.isEmpty ? "no" : pods.joined(separator: ",")))
        }
        if let pending = facts.nodesPending, pending.count > 0 {
            parts.append(
                "nodes-pending=\(pending.count) (\(pending.running) of \(pending.wanted) \(pending.role.rawValue)s running)"
            )
        }
        return parts.isEmpty ? "" : " " + parts.joined(separator: " ")
    }

    static func text(_ value: Bool?) -> String { value.map { $0 ? "yes" : "no" } ?? "unknown" }
    static func count(_ value: Double?) -> String { value.map(BalanceEvaluation.format) ?? "unknown" }
}
