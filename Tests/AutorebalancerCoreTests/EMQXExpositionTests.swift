import Foundation
import Testing

@testable import AutorebalancerCore

@Suite struct EMQXExpositionTests {
    static let at = Date(timeIntervalSince1970: 1_764_000_000)

    /// EMQX 5 `mode=node`: no labels; the node is the scrape target.
    static let nodeMode = """
        # TYPE emqx_connections_count gauge
        # HELP emqx_connections_count\u{20}
        emqx_connections_count 120
        # TYPE emqx_live_connections_count gauge
        # HELP emqx_live_connections_count\u{20}
        emqx_live_connections_count 110
        # TYPE emqx_sessions_count gauge
        # HELP emqx_sessions_count\u{20}
        emqx_sessions_count 130
        # TYPE emqx_cluster_nodes_running gauge
        emqx_cluster_nodes_running 3
        # TYPE emqx_cluster_nodes_stopped gauge
        emqx_cluster_nodes_stopped 1
        # TYPE emqx_client_connected counter
        emqx_client_connected 9001

        """

    /// EMQX 5 `mode=all_nodes_unaggregated` for three nodes (EMQX lists them in reverse order).
    static let unaggregated = """
        # TYPE emqx_connections_count gauge
        emqx_connections_count{node="emqx@c"} 30
        emqx_connections_count{node="emqx@b"} 20
        emqx_connections_count{node="emqx@a"} 10
        # TYPE emqx_live_connections_count gauge
        emqx_live_connections_count{node="emqx@c"} 29
        emqx_live_connections_count{node="emqx@b"} 19
        emqx_live_connections_count{node="emqx@a"} 9
        # TYPE emqx_sessions_count gauge
        emqx_sessions_count{node="emqx@c"} 31
        emqx_sessions_count{node="emqx@b"} NaN
        emqx_sessions_count{node="emqx@a"} 11
        # TYPE emqx_cluster_sessions_count gauge
        emqx_cluster_sessions_count 62
        # TYPE emqx_cluster_nodes_running gauge
        emqx_cluster_nodes_running{node="emqx@c"} 3
        emqx_cluster_nodes_running{node="emqx@b"} 3
        emqx_cluster_nodes_running{node="emqx@a"} 2
        # TYPE emqx_client_connected counter
        emqx_client_connected{node="emqx@c"} 5
        emqx_client_connected{node="emqx@b"} 500
        emqx_client_connected{node="emqx@a"} 700

        """

    /// EMQX 4.4: TYPE lines only, no labels, the VM wall clock counter.
    static let emqx44 = """
        # TYPE erlang_vm_statistics_wallclock_time_milliseconds counter
        erlang_vm_statistics_wallclock_time_milliseconds 262734117
        # TYPE emqx_connections_count gauge
        emqx_connections_count 30412
        # TYPE emqx_live_connections_count gauge
        emqx_live_connections_count 30188
        # TYPE emqx_sessions_count gauge
        emqx_sessions_count 30412
        # TYPE emqx_cluster_nodes_running gauge
        emqx_cluster_nodes_running 3
        # TYPE emqx_client_connected counter
        emqx_client_connected 287011

        """

    @Test func nodeModeTakesTheNameFromTheScrapeTarget() throws {
        let document = try ExpositionParser().parse(Self.nodeMode)
        let nodes = EMQXExposition.nodes(from: document, scrapedNode: "emqx@10.0.0.1", observedAt: Self.at)
        #expect(
            nodes == [
                NodeObservation(
                    name: "emqx@10.0.0.1",
                    running: true,
                    liveConnections: 110,
                    connections: 120,
                    sessions: 130,
                    observedAt: Self.at,
                    uptimeSeconds: nil,
                    restartCounter: 9001
                )
            ]
        )
        #expect(
            EMQXExposition.cluster(from: document)
                == EMQXClusterCounts(nodesRunning: 3, nodesStopped: 1, isConsistent: true)
        )
    }

    @Test func unlabelledSamplesWithoutAScrapeTargetBelongToNoNode() throws {
        let document = try ExpositionParser().parse(Self.nodeMode)
        #expect(EMQXExposition.nodes(from: document, scrapedNode: nil, observedAt: nil).isEmpty)
    }

    @Test func unaggregatedGivesOneObservationPerNode() throws {
        let document = try ExpositionParser().parse(Self.unaggregated)
        let nodes = EMQXExposition.nodes(from: document, scrapedNode: nil, observedAt: Self.at)
        #expect(nodes.map(\.name) == ["emqx@a", "emqx@b", "emqx@c"])
        #expect(nodes.map(\.liveConnections) == [9, 19, 29])
        #expect(nodes.map(\.connections) == [10, 20, 30])
        // NaN (EMQX's `undefined`) is unknown, not a number.
        #expect(nodes.map(\.sessions) == [11, nil, 31])
        #expect(nodes.map(\.restartCounter) == [700, 500, 5])
        #expect(nodes.allSatisfy { $0.running == true && $0.observedAt == Self.at && $0.uptimeSeconds == nil })
        // The cluster-wide unlabelled series is not attributed to the scrape target either.
        let withTarget = EMQXExposition.nodes(from: document, scrapedNode: "emqx@a", observedAt: Self.at)
        #expect(withTarget == nodes)
        let cluster = EMQXExposition.cluster(from: document)
        #expect(cluster == EMQXClusterCounts(nodesRunning: 3, nodesStopped: nil, isConsistent: false))
    }

    /// Duplicated series (a family written twice, a series repeated) and values no node can hold are never counts.
    @Test func duplicatesAndImplausibleValuesAreReportedNotCounted() throws {
        let text = """
            # TYPE emqx_live_connections_count gauge
            emqx_live_connections_count 0
            emqx_live_connections_count 5000
            # TYPE emqx_sessions_count gauge
            emqx_sessions_count -1
            # TYPE emqx_connections_count gauge
            emqx_connections_count +Inf
            # TYPE emqx_client_connected counter
            emqx_client_connected 1e19

            """
        let reading = EMQXExposition.read(
            try ExpositionParser().parse(text),
            scrapedNode: "emqx@a",
            observedAt: Self.at
        )
        #expect(reading.nodes == [NodeObservation(name: "emqx@a", running: true, observedAt: Self.at)])
        #expect(reading.duplicates == ["emqx_live_connections_count appears more than once for node emqx@a"])
        #expect(
            reading.problems == [
                "node emqx@a: emqx_connections_count +Inf is infinite",
                "node emqx@a: emqx_sessions_count -1 is negative",
                "node emqx@a: emqx_client_connected 1e+19 is above the plausible maximum of 100000000000000 for a counter",
            ]
        )
        // In unaggregated mode a node labelled twice is a duplicate too; the others stay counted.
        let twice = unaggregatedWithRepeat()
        let repeated = EMQXExposition.read(try ExpositionParser().parse(twice), scrapedNode: nil, observedAt: Self.at)
        #expect(repeated.duplicates == ["emqx_live_connections_count appears more than once for node emqx@b"])
        #expect(repeated.nodes.map(\.liveConnections) == [9, nil, 29])
    }

    func unaggregatedWithRepeat() -> String {
        Self.unaggregated.replacingOccurrences(
            of: "emqx_live_connections_count{node=\"emqx@a\"} 9",
            with: "emqx_live_connections_count{node=\"emqx@a\"} 9\nemqx_live_connections_count{node=\"emqx@b\"} 0"
        )
    }

    @Test func emqx44UsesTheWallClockAsUptime() throws {
        let document = try ExpositionParser().parse(Self.emqx44)
        let nodes = EMQXExposition.nodes(from: document, scrapedNode: "emqx@10.0.2.21", observedAt: nil)
        #expect(
            nodes == [
                NodeObservation(
                    name: "emqx@10.0.2.21",
                    running: true,
                    liveConnections: 30188,
                    connections: 30412,
                    sessions: 30412,
                    uptimeSeconds: 262_734.117,
                    restartCounter: 287_011
                )
            ]
        )
    }

    @Test func absentMetricsStayUnknown() throws {
        let document = try ExpositionParser().parse(
            "# TYPE emqx_live_connections_count gauge\nemqx_live_connections_count 5\n"
        )
        let node = try #require(EMQXExposition.nodes(from: document, scrapedNode: "n", observedAt: nil).first)
        #expect(node.liveConnections == 5)
        #expect(node.connections == nil)
        #expect(node.sessions == nil)
        #expect(node.restartCounter == nil)
        #expect(node.uptimeSeconds == nil)
        #expect(EMQXExposition.cluster(from: document) == EMQXClusterCounts())
        let empty = try ExpositionParser().parse("")
        #expect(EMQXExposition.nodes(from: empty, scrapedNode: "n", observedAt: nil).isEmpty)
    }

    @Test func seriesSplitByOtherLabelsAreNotANodeTotal() throws {
        let document = try ExpositionParser().parse(
            "# TYPE emqx_connections_count gauge\nemqx_connections_count{node=\"a\",listener=\"tcp\"} 5\nemqx_connections_count{node=\"a\"} 7\n"
        )
        let node = try #require(EMQXExposition.nodes(from: document, scrapedNode: nil, observedAt: nil).first)
        #expect(node.connections == 7)
    }

    @Test func sixXUptimeGauge() throws {
        let document = try ExpositionParser().parse("# TYPE emqx_vm_uptime_ms gauge\nemqx_vm_uptime_ms 720000\n")
        #expect(EMQXExposition.nodes(from: document, scrapedNode: "n", observedAt: nil).first?.uptimeSeconds == 720)
    }

    /// Uptime comes in milliseconds and is kept in seconds: it is checked in seconds, against 100 years.
    @Test func anUptimeOfCenturiesInMillisecondsIsUnknown() throws {
        let document = try ExpositionParser().parse(
            "# TYPE emqx_vm_uptime_ms gauge\nemqx_vm_uptime_ms 8640001.5e6\n"
        )
        let reading = EMQXExposition.read(document, scrapedNode: "n", observedAt: nil)
        #expect(reading.nodes.first?.uptimeSeconds == nil)
        #expect(reading.problems.first?.contains("(8640001500 s) is above the plausible maximum") == true)
    }

    @Test(.enabled(if: SharedFixtures.available, SharedFixtures.skipReason))
    func fixtureNodeMode() throws {
        let document = try ExpositionParser().parse(try SharedFixtures.bytes("emqx/emqx5-node-stats.prom"))
        let nodes = EMQXExposition.nodes(from: document, scrapedNode: "emqx@10.0.1.11", observedAt: Self.at)
        #expect(
            nodes == [
                NodeObservation(
                    name: "emqx@10.0.1.11",
                    running: true,
                    liveConnections: 48213,
                    connections: 49870,
                    sessions: 49870,
                    observedAt: Self.at,
                    restartCounter: 1_284_330
                )
            ]
        )
        #expect(EMQXExposition.cluster(from: document) == EMQXClusterCounts(nodesRunning: 3, nodesStopped: 0))
    }

    @Test(.enabled(if: SharedFixtures.available, SharedFixtures.skipReason))
    func fixtureUnaggregated() throws {
        let document = try ExpositionParser().parse(
            try SharedFixtures.bytes("emqx/emqx5-cluster-unaggregated-stats.prom")
        )
        let nodes = EMQXExposition.nodes(from: document, scrapedNode: nil, observedAt: nil)
        #expect(nodes.map(\.name) == ["emqx@10.0.1.11", "emqx@10.0.1.12", "emqx@10.0.1.13"])
        #expect(nodes.map(\.liveConnections) == [48213, 46877, 3120])
        #expect(nodes.map(\.sessions) == [49870, 47340, 3126])
        #expect(nodes.map(\.restartCounter) == [1_284_330, 1_246_334, 3391])
        #expect(EMQXExposition.cluster(from: document) == EMQXClusterCounts(nodesRunning: 3, nodesStopped: 0))
    }

    @Test(.enabled(if: SharedFixtures.available, SharedFixtures.skipReason))
    func fixtureEMQX44() throws {
        let document = try ExpositionParser().parse(try SharedFixtures.bytes("emqx/emqx44-node-stats.prom"))
        let nodes = EMQXExposition.nodes(from: document, scrapedNode: "emqx@10.0.2.21", observedAt: nil)
        #expect(
            nodes == [
                NodeObservation(
                    name: "emqx@10.0.2.21",
                    running: true,
                    liveConnections: 30188,
                    connections: 30412,
                    sessions: 30412,
                    uptimeSeconds: 262_734.117,
                    restartCounter: 287_011
                )
            ]
        )
        #expect(EMQXExposition.cluster(from: document) == EMQXClusterCounts(nodesRunning: 3, nodesStopped: 0))
    }
}
