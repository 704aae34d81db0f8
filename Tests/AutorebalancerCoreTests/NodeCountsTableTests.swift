import Foundation
import Testing

@testable import AutorebalancerCore

@Suite struct NodeCountsTableTests {
    let nodes = (0...3).map { "emqx-ee@emqx-ee-\($0).emqx-ee-headless.default.svc.cluster.local" }

    @Test func beforeAfterTableTotalsEveryColumn() {
        let before: [String: (connections: Double?, sessions: Double?)] = [
            nodes[0]: (3333, 3333), nodes[1]: (3333, 3333), nodes[2]: (3334, 3334), nodes[3]: (0, 0),
        ]
        let after: [String: (connections: Double?, sessions: Double?)] = [
            nodes[0]: (2553, 2553), nodes[1]: (2553, 2553), nodes[2]: (2554, 2554), nodes[3]: (2340, 2340),
        ]
        let lines = NodeCountsTable.beforeAfter(nodes: nodes, before: before, after: after)
        #expect(lines.count == 6)
        #expect(lines[0].hasPrefix("node "))
        #expect(lines[4].split(separator: " ").map(String.init) == ["emqx-ee-3", "0", "0", "2340", "2340"])
        #expect(lines[5].split(separator: " ").map(String.init) == ["total", "10000", "10000", "10000", "10000"])
    }

    @Test func unknownCountsAreDashesAndBreakTheTotal() {
        let lines = NodeCountsTable.beforeAfter(
            nodes: Array(nodes.prefix(2)),
            before: [nodes[0]: (10, nil)],
            after: [nodes[0]: (5, 5), nodes[1]: (5, 5)]
        )
        #expect(lines[1].split(separator: " ").map(String.init) == ["emqx-ee-0", "10", "-", "5", "5"])
        #expect(lines[3].split(separator: " ").map(String.init) == ["total", "-", "-", "10", "10"])
    }

    @Test func barsScaleToTheLargestNodeAndShowMissingSamples() {
        let lines = NodeCountsTable.bars(
            [(nodes[0], 3000, 3000), (nodes[1], 1500, nil), (nodes[2], nil, nil)],
            scale: 3000,
            width: 10
        )
        #expect(lines[0].contains("██████████ "))
        #expect(lines[1].contains("█████░░░░░"))
        #expect(lines[1].hasSuffix("1500 conn"))
        #expect(lines[2].hasSuffix("no sample"))
    }
}
