import AutorebalancerCore
import Foundation
import Report
import Testing

@testable import Agent

@Suite struct MetricsSinkTests {
    @Test func aCycleShowsInTheMetrics() async {
        let cluster = ClusterReference(namespace: "default", name: "emqx-ee", kind: .emqx)
        let now = Date(timeIntervalSince1970: 1_795_170_000)
        let nodes = [("a", 3000.0), ("b", 3000.0), ("c", 0.0)].map {
            NodeObservation(name: $0.0, liveConnections: $0.1, sessions: $0.1, observedAt: now)
        }
        var cycle = ClusterCycleReport(cluster: cluster, at: now)
        cycle.snapshot = ClusterSnapshot(
            cluster: cluster,
            takenAt: now,
            expectedNodes: ["a", "b", "c"],
            nodes: nodes,
            facts: .assumedFine
        )
        cycle.sources = [SourceAttempt(source: "prometheus", duration: .milliseconds(12))]
        let counts = nodes.map {
            BalanceMath.NodeCounts(name: $0.name, liveConnections: $0.liveConnections!, sessions: $0.sessions)
        }
        let evaluation = BalanceMath.evaluateConnections(
            counts,
            threshold: BalanceThreshold(absolute: 200, relative: 1.2)
        )
        let record = DecisionRecord(
            time: now,
            cluster: "default/emqx-ee",
            rule: "skew",
            trigger: .skew,
            action: .blocked,
            reason: .notReady
        )
        let ruleEvaluation = RuleEvaluation(
            rule: "skew",
            trigger: .skew,
            action: .rebalance,
            state: .firing,
            conditionHolds: true,
            connections: evaluation,
            sessions: nil,
            forRemaining: nil,
            whyNot: WhyNot(.notReady, "cluster not Ready"),
            decision: nil,
            record: record
        )
        cycle.policies = [
            PolicyOutcome(
                policy: "p",
                result: EngineResult(
                    state: ClusterEngineState(cluster: cluster),
                    evaluations: [ruleEvaluation],
                    decisions: []
                ),
                fixConnections: BalanceThreshold(absolute: 100, relative: 1.1),
                fixSessions: BalanceThreshold(absolute: 100, relative: 1.1)
            )
        ]

        let metrics = AgentMetrics(version: "test")
        let sink = MetricsSink(metrics: metrics, health: nil, isLeader: { true })
        await sink.publish(TickReport(at: now, duration: .milliseconds(30), clusters: [cycle]))
        let text = metrics.render()
        #expect(text.contains(#"emqx_autorebalancer_leader 1"#))
        #expect(
            text.contains(#"emqx_autorebalancer_rule_state{cluster="default/emqx-ee",rule="skew",state="firing"} 1"#)
        )
        #expect(
            text.contains(#"emqx_autorebalancer_rule_state{cluster="default/emqx-ee",rule="skew",state="pending"} 0"#)
        )
        #expect(
            text.contains(
                #"emqx_autorebalancer_decisions_blocked_total{cluster="default/emqx-ee",rule="skew",reason="not-ready"} 1"#
            )
        )
        #expect(text.contains(#"emqx_autorebalancer_cluster_imbalanced{cluster="default/emqx-ee"} 1"#))
        #expect(text.contains(#"emqx_autorebalancer_donor_average_connections{cluster="default/emqx-ee"} 3000"#))
        #expect(text.contains(#"emqx_autorebalancer_recipient_average_connections{cluster="default/emqx-ee"} 0"#))
        #expect(text.contains(#"emqx_autorebalancer_node_connections{cluster="default/emqx-ee",node="c"} 0"#))
    }
}
