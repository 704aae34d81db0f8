import AutorebalancerCore
import Foundation
import Prometheus
import Report
import TestSupport
import Testing

struct AgentMetricsTests {
    static func sampleEvaluation() -> BalanceEvaluation {
        BalanceMath.evaluateConnections(
            [
                .init(name: "a", liveConnections: 3000), .init(name: "b", liveConnections: 3000),
                .init(name: "c", liveConnections: 0),
            ],
            threshold: BalanceThreshold(absolute: 1000, relative: 1.1)
        )
    }

    /// A metrics object with every family given at least one series.
    static func populated() -> AgentMetrics {
        let metrics = AgentMetrics(version: "1.2.3")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        metrics.setLeader(true)
        metrics.recordObservation(
            cluster: "default/emqx-ee",
            nodes: [
                NodeObservation(name: "emqx@a", liveConnections: 3000, sessions: 3100),
                NodeObservation(name: "emqx@c", liveConnections: 0, sessions: nil),
            ]
        )
        metrics.recordBalance(cluster: "default/emqx-ee", connections: sampleEvaluation(), sessions: nil)
        metrics.recordThresholdExcess(
            cluster: "default/emqx-ee",
            rule: "scale-out",
            connections: sampleEvaluation(),
            sessions: sampleEvaluation()
        )
        metrics.setRuleState(cluster: "default/emqx-ee", rule: "scale-out", state: .pending)
        metrics.recordRebalanceCreated(cluster: "default/emqx-ee", rule: "scale-out")
        metrics.recordRebalanceCompleted(cluster: "default/emqx-ee", outcome: "effective")
        metrics.recordRebalanceFailed(cluster: "default/emqx-ee", reason: "Failed")
        metrics.recordRebalanceIneffective(cluster: "default/emqx-ee")
        metrics.recordBlocked(cluster: "default/emqx-ee", rule: "scale-out", reason: .cooldown, at: now)
        metrics.recordRebalanceProgress(cluster: "default/emqx-ee", startedAt: now.addingTimeInterval(-30), now: now)
        metrics.recordSourceObservation(
            cluster: "default/emqx-ee",
            source: "prometheus",
            succeeded: false,
            duration: .milliseconds(42)
        )
        metrics.recordEvaluation(duration: .milliseconds(120), completedAt: now)
        metrics.recordConfigReload(succeeded: false)
        metrics.recordAlertSent(receiver: "am", succeeded: true)
        metrics.recordNotificationDropped(receiver: "hook")
        return metrics
    }

    @Test func everyFamilyHasHelpAndTypeFromStartUp() {
        let text = AgentMetrics(version: "1.2.3").render()
        for family in AgentMetrics.families {
            #expect(text.contains("# HELP \(family.name) "), "no HELP for \(family.name)")
            #expect(text.contains("# TYPE \(family.name) \(family.kind.rawValue)\n"), "no TYPE for \(family.name)")
        }
        #expect(text.contains(#"emqx_autorebalancer_build_info{version="1.2.3"} 1"#))
        #expect(text.contains("emqx_autorebalancer_leader 0"))
        #expect(!text.contains("emqx_autorebalancer_node_connections{"))
    }

    @Test func namesFollowConventions() {
        for family in AgentMetrics.families {
            #expect(family.name.hasPrefix("emqx_autorebalancer_"))
            #expect(
                family.kind == .counter ? family.name.hasSuffix("_total") : !family.name.hasSuffix("_total"),
                "\(family.name)"
            )
            for suffix in ["_count", "_sum", "_bucket"] { #expect(!family.name.hasSuffix(suffix), "\(family.name)") }
        }
        #expect(Set(AgentMetrics.families.map(\.name)).count == AgentMetrics.families.count)
    }

    @Test func recordsValues() {
        let text = Self.populated().render()
        #expect(text.contains(#"emqx_autorebalancer_node_connections{cluster="default/emqx-ee",node="emqx@a"} 3000"#))
        #expect(text.contains(#"emqx_autorebalancer_node_connections{cluster="default/emqx-ee",node="emqx@c"} 0"#))
        // Unknown sessions are absent, never 0.
        #expect(!text.contains(#"emqx_autorebalancer_node_sessions{cluster="default/emqx-ee",node="emqx@c"}"#))
        #expect(text.contains(#"emqx_autorebalancer_donor_average_connections{cluster="default/emqx-ee"} 3000"#))
        #expect(
            text.contains(
                #"emqx_autorebalancer_threshold_excess_connections{cluster="default/emqx-ee",rule="scale-out",threshold="abs"} 2000"#
            )
        )
        #expect(
            text.contains(
                #"emqx_autorebalancer_threshold_excess_connections{cluster="default/emqx-ee",rule="scale-out",threshold="rel"} 3000"#
            )
        )
        #expect(text.contains(#"emqx_autorebalancer_cluster_imbalanced{cluster="default/emqx-ee"} 1"#))
        #expect(
            text.contains(
                #"emqx_autorebalancer_rule_state{cluster="default/emqx-ee",rule="scale-out",state="pending"} 1"#
            )
        )
        #expect(
            text.contains(
                #"emqx_autorebalancer_rule_state{cluster="default/emqx-ee",rule="scale-out",state="inactive"} 0"#
            )
        )
        #expect(
            text.contains(#"emqx_autorebalancer_rebalance_processing_duration_seconds{cluster="default/emqx-ee"} 30"#)
        )
        #expect(text.contains(#"emqx_autorebalancer_source_up{cluster="default/emqx-ee",source="prometheus"} 0"#))
        #expect(
            text.contains(#"emqx_autorebalancer_source_errors_total{cluster="default/emqx-ee",source="prometheus"} 1"#)
        )
        #expect(text.contains(#"emqx_autorebalancer_config_reloads_total{result="failure"} 1"#))
        #expect(text.contains("emqx_autorebalancer_config_last_reload_successful 0"))
    }

    /// The agent writes its gauges itself (not through the library's gauge objects): the lines are the library's.
    @Test func gaugeLinesAreTheLibrarysLines() {
        let metrics = AgentMetrics(version: "1")
        let clusters = ["ns/plain", "ns/a\"b\\c\nd é"]
        let values = [3000.0, 0.5, 1e17, -2, 1795621027.25]
        for (index, cluster) in clusters.enumerated() {
            metrics.recordObservation(
                cluster: cluster,
                nodes: values.enumerated().map {
                    NodeObservation(name: "emqx@n\($0.offset)", liveConnections: $0.element + Double(index))
                }
            )
        }
        let registry = PrometheusCollectorRegistry()
        for (index, cluster) in clusters.enumerated() {
            for (offset, value) in values.enumerated() {
                registry.makeGauge(
                    name: "emqx_autorebalancer_node_connections",
                    labels: [("cluster", cluster), ("node", "emqx@n\(offset)")]
                ).set(value + Double(index))
            }
        }
        let expected = registry.emitToString().split(separator: "\n").filter { !$0.hasPrefix("#") }
        let written = metrics.render().split(separator: "\n").filter {
            $0.hasPrefix("emqx_autorebalancer_node_connections{")
        }
        #expect(expected.count == 10)
        #expect(written == expected.sorted())
    }

    @Test func nodesThatLeaveLoseTheirSeries() {
        let metrics = AgentMetrics(version: "1")
        metrics.recordObservation(
            cluster: "ns/c",
            nodes: [NodeObservation(name: "n1", liveConnections: 1), NodeObservation(name: "n2", liveConnections: 2)]
        )
        metrics.recordObservation(cluster: "ns/c", nodes: [NodeObservation(name: "n2", liveConnections: 5)])
        let text = metrics.render()
        #expect(!text.contains(#"node="n1""#))
        #expect(text.contains(#"emqx_autorebalancer_node_connections{cluster="ns/c",node="n2"} 5"#))
        metrics.forgetCluster("ns/c")
        #expect(!metrics.render().contains(#"node="n2""#))
        #expect(metrics.render().contains("# TYPE emqx_autorebalancer_node_connections gauge"))
    }

    @Test func blockedDurationGrowsAndResets() {
        let metrics = AgentMetrics(version: "1")
        let start = Date(timeIntervalSince1970: 1000)
        metrics.recordBlocked(cluster: "ns/c", rule: "r", reason: .paused, at: start)
        metrics.recordBlocked(cluster: "ns/c", rule: "r", reason: .paused, at: start.addingTimeInterval(45))
        #expect(metrics.render().contains(#"emqx_autorebalancer_blocked_duration_seconds{cluster="ns/c",rule="r"} 45"#))
        #expect(
            metrics.render().contains(
                #"emqx_autorebalancer_decisions_blocked_total{cluster="ns/c",rule="r",reason="paused"} 2"#
            )
        )
        metrics.recordNotBlocked(cluster: "ns/c", rule: "r")
        #expect(metrics.render().contains(#"emqx_autorebalancer_blocked_duration_seconds{cluster="ns/c",rule="r"} 0"#))
    }

    @Test(
        .enabled(
            if: Executables.promtool != nil,
            "promtool not found (set PROMTOOL or install prometheus); check skipped"
        ),
        arguments: [false, true]
    )
    func promtoolAcceptsTheOutput(populated: Bool) async throws {
        let text = populated ? Self.populated().render() : AgentMetrics(version: "1.2.3").render()
        let result = try await ChildProcess.run(Executables.promtool!, ["check", "metrics"], input: text)
        #expect(result.status == 0, "promtool check metrics failed: \(result.output)")
        #expect(
            result.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
            "promtool lint output: \(result.output)"
        )
    }
}
