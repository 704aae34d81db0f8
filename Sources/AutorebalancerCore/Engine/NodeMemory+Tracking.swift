import Foundation

extension NodeMemory {
    /// Step 2 of an evaluation: what is remembered about each node after this snapshot, to recognise scale-outs
    /// (a node joined the set) and restarts (uptime or counter reset, reappearance, a fall to near zero).
    /// - Parameters:
    ///   - previous: the memory after the previous evaluation.
    ///   - restarted: the engine has no previous evaluation (a fresh or restarted agent).
    static func track(
        _ previous: [String: NodeMemory],
        policy: Policy,
        snapshot: ClusterSnapshot,
        data: DataCheck,
        restarted: Bool,
        at now: Date
    ) -> [String: NodeMemory] {
        let nearZero =
            policy.rules.filter { $0.trigger == .restart }.map(\.nearZeroConnections).min()
            ?? Rule.Defaults.nearZeroConnections
        var memory: [String: NodeMemory] = [:]
        // Nodes seen before the cluster's node list first became known (an agent started beside an empty status) are
        // the cluster as it is, not nodes joining it.
        let knewNodes = !previous.isEmpty
        for name in data.expected {
            var m = previous[name] ?? NodeMemory()
            let isNew = previous[name] == nil
            let node = data.fresh.contains(name) ? snapshot.node(named: name) : nil
            if isNew {
                if !restarted, knewNodes { m.joinedAt = now }
                if restarted, let uptime = node?.uptimeSeconds {
                    // Fresh engine: an uptime is the only way to know the node (re)started recently.
                    m.restartedAt = now.addingTimeInterval(-uptime)
                }
            }
            if let node {
                if let uptime = node.uptimeSeconds, let last = m.lastUptime, uptime < last {
                    m.restartedAt = now.addingTimeInterval(-uptime)
                }
                if let counter = node.restartCounter, let last = m.lastRestartCounter, counter < last {
                    m.restartedAt = now
                }
                if m.vanished, !isNew {
                    m.restartedAt = now
                }
                if let live = node.liveConnections, let last = m.lastLiveConnections, last > nearZero, live <= nearZero
                {
                    m.restartedAt = now
                }
                m.lastSeenAt = now
                m.lastUptime = node.uptimeSeconds ?? m.lastUptime
                m.lastRestartCounter = node.restartCounter ?? m.lastRestartCounter
                m.lastLiveConnections = node.liveConnections
                m.vanished = false
            } else if m.lastSeenAt != nil {
                m.vanished = true
            }
            memory[name] = m
        }
        // A node that left the set (stopped, restarting) is remembered for a while, so its return reads as a restart or
        // rejoin rather than as a new node joining.
        let keepDeparted = max(3600, policy.rules.map(\.triggerWindow).max() ?? 0)
        for (name, old) in previous where memory[name] == nil {
            guard let lastSeen = old.lastSeenAt, now.timeIntervalSince(lastSeen) <= keepDeparted else { continue }
            var departed = old
            departed.vanished = true
            memory[name] = departed
        }
        return memory
    }
}
