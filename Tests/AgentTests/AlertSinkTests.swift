import AutorebalancerCore
import Foundation
import Report
import Testing

@testable import Agent

/// Which alerts are active after each cycle: `alert` rules, rules blocked too long (or suspended), sources down.
@Suite struct AlertSinkTests {
    let cluster = ClusterReference(namespace: "default", name: "emqx-ee", kind: .emqx)
    let start = Date(timeIntervalSince1970: 1_795_170_000)

    func evaluation(rule: String, action: RuleAction, phase: RuleState, why: WhyNot?, at time: Date) -> RuleEvaluation {
        let record = DecisionRecord(
            time: time,
            cluster: cluster.description,
            rule: rule,
            trigger: .skew,
            action: .blocked,
            reason: why?.reason,
            detail: why?.detail,
            formula: "avg(3000)=3000.0 > 0*1.2=0.0 and > 0+200=200.0 (imbalanced)"
        )
        return RuleEvaluation(
            rule: rule,
            trigger: .skew,
            action: action,
            state: phase,
            conditionHolds: true,
            connections: nil,
            sessions: nil,
            forRemaining: nil,
            whyNot: why,
            decision: nil,
            record: record
        )
    }

    func report(at offset: TimeInterval, _ evaluations: [RuleEvaluation], sourcesFail: Bool = false) -> TickReport {
        let time = start.addingTimeInterval(offset)
        var cluster = ClusterCycleReport(cluster: cluster, at: time)
        cluster.sources = [
            SourceAttempt(source: "prometheus", duration: .zero, error: sourcesFail ? "connection refused" : nil)
        ]
        var state = ClusterEngineState(cluster: self.cluster)
        for evaluation in evaluations where evaluation.state != .inactive {
            state.rules[evaluation.rule] =
                evaluation.state == .pending ? .pending(since: start) : .firing(since: start, alerted: true, retry: nil)
        }
        cluster.policies = [
            PolicyOutcome(policy: "p", result: EngineResult(state: state, evaluations: evaluations, decisions: []))
        ]
        return TickReport(at: time, duration: .zero, clusters: [cluster])
    }

    @Test func alertRulesAlertWhilePendingAndFiring() {
        let sink = AlertSink(configuration: .init(), alertmanager: nil, webhooks: [])
        let pending = sink.activeAlerts(
            report(
                at: 0,
                [
                    evaluation(
                        rule: "watch",
                        action: .alert,
                        phase: .pending,
                        why: WhyNot(.pending, "10s of 60s"),
                        at: start
                    )
                ]
            )
        )
        #expect(pending.map(\.kind) == [.imbalancePending])
        let firing = sink.activeAlerts(
            report(at: 60, [evaluation(rule: "watch", action: .alert, phase: .firing, why: nil, at: start)])
        )
        #expect(firing.map(\.kind) == [.imbalanceFiring])
        #expect(firing.first?.labels["rule"] == "watch")
        #expect(firing.first?.startsAt == start)
        let resolved = sink.activeAlerts(
            report(
                at: 120,
                [evaluation(rule: "watch", action: .alert, phase: .inactive, why: WhyNot(.balanced, "ok"), at: start)]
            )
        )
        #expect(resolved.isEmpty)
    }

    @Test func aRuleBlockedLongerThanTheLimitAlertsAndAnUnblockedOneStops() {
        let sink = AlertSink(configuration: .init(blockedAfter: 600), alertmanager: nil, webhooks: [])
        let blocked = { (offset: TimeInterval) in
            self.report(
                at: offset,
                [
                    self.evaluation(
                        rule: "skew",
                        action: .rebalance,
                        phase: .firing,
                        why: WhyNot(.notReady, "cluster not Ready"),
                        at: self.start
                    )
                ]
            )
        }
        #expect(sink.activeAlerts(blocked(0)).isEmpty)
        #expect(sink.activeAlerts(blocked(300)).isEmpty)
        let alerts = sink.activeAlerts(blocked(600))
        #expect(alerts.map(\.kind) == [.blockedTooLong])
        #expect(alerts.first?.annotations["reason"] == "not-ready")
        // Pending is not "blocked": `for` is the rule working as written.
        _ = sink.activeAlerts(
            report(
                at: 700,
                [
                    evaluation(
                        rule: "skew",
                        action: .rebalance,
                        phase: .pending,
                        why: WhyNot(.pending, "5s of 60s"),
                        at: start
                    )
                ]
            )
        )
        #expect(sink.activeAlerts(blocked(800)).isEmpty, "the blocked time starts over after an interruption")
    }

    @Test func aSuspendedRuleAlertsAtOnce() {
        let sink = AlertSink(configuration: .init(blockedAfter: 3600), alertmanager: nil, webhooks: [])
        let alerts = sink.activeAlerts(
            report(
                at: 0,
                [
                    evaluation(
                        rule: "skew",
                        action: .rebalance,
                        phase: .firing,
                        why: WhyNot(.ineffectiveLimit, "2 consecutive ineffective rebalances"),
                        at: start
                    )
                ]
            )
        )
        #expect(alerts.map(\.kind) == [.blockedTooLong])
    }

    @Test func everySourceDownAlertsUntilOneAnswers() {
        let sink = AlertSink(configuration: .init(), alertmanager: nil, webhooks: [])
        let down = sink.activeAlerts(report(at: 0, [], sourcesFail: true))
        #expect(down.map(\.kind) == [.sourceDown])
        #expect(down.first?.annotations["description"]?.contains("connection refused") == true)
        let later = sink.activeAlerts(report(at: 60, [], sourcesFail: true))
        #expect(later.first?.startsAt == start, "the alert keeps its start while the outage lasts")
        #expect(sink.activeAlerts(report(at: 120, [])).isEmpty)
    }
}
