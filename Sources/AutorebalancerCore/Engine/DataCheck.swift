import Foundation

/// Step 1 of an evaluation: is every node of the expected (rebalanced) set reported with a fresh live-connection
/// count? Missing data is never zero: a gap holds every rule of the policy back and resets `for`.
struct DataCheck: Sendable {
    /// The nodes the counts must cover: the expected set, else every rebalanced node reported.
    var expected: [String]
    /// Nodes with a fresh sample.
    var fresh: Set<String>
    /// The counts of the fresh nodes, in `expected` order.
    var counts: [BalanceMath.NodeCounts]
    /// Why the data is not enough (`missing-data`, `stale-data`); `nil` when it is.
    var gap: WhyNot?

    init(_ snapshot: ClusterSnapshot, staleness: TimeInterval, at now: Date) {
        expected = snapshot.expectedNodes ?? snapshot.rebalancedNodes.map(\.name)
        fresh = []
        counts = []
        var missing: [String] = []
        var withoutLive: Set<String> = []
        var stale: [(String, TimeInterval)] = []
        for name in expected {
            guard let node = snapshot.node(named: name), let live = node.liveConnections else {
                if snapshot.node(named: name) != nil { withoutLive.insert(name) }
                missing.append(name)
                continue
            }
            let age = now.timeIntervalSince(node.observedAt ?? snapshot.takenAt)
            if age > staleness {
                stale.append((name, age))
                continue
            }
            fresh.insert(name)
            counts.append(BalanceMath.NodeCounts(name: name, liveConnections: live, sessions: node.sessions))
        }
        if expected.isEmpty {
            gap = WhyNot(.missingData, "no node reported and none is expected")
        } else if let first = missing.first {
            let more = missing.count > 1 ? " (and \(missing.count - 1) more)" : ""
            let what = withoutLive.contains(first) ? "has no live-connection count" : "has no fresh sample"
            gap = WhyNot(.missingData, "node \(first) \(what)\(more)")
        } else if let first = stale.first {
            gap = WhyNot(
                .staleData,
                "node \(first.0): sample is \(DurationText.format(first.1)) old (staleness \(DurationText.format(staleness)))"
            )
        } else {
            gap = nil
        }
    }
}
