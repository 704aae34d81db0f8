import AutorebalancerCore
import Foundation

/// Cycles of hostile node numbers through the live path: the boundary (``ObservationCheck``), the snapshot and the
/// rule engine with quick rules of every trigger. Each cycle is read from the bytes: a clock step, then per node a
/// presence byte, a live-connection count, a session count, an uptime and a restart counter, each byte either a
/// hostile value (NaN, ±Inf, 1e19, 1e308, -1, just above the maximum, …) or an ordinary one.
///
/// Promises: a Rebalance is decided only from nodes whose numbers all were known (an implausible value is unknown and
/// holds every rule back), its evict rate is within the rule's bounds, and its donors and recipients are nodes.
enum EngineInput {
    static let nodes = ["emqx@n0", "emqx@n1", "emqx@n2"]
    static let cluster = ClusterReference(namespace: "default", name: "emqx", kind: .emqx)
    /// Quick rules of every trigger (no wait, no cooldown), each with an `auto` evict rate of 1...500.
    static let policy: Policy = {
        func rule(_ name: String, _ trigger: String, for wait: String, sessions: Bool = false) -> String {
            let imbalance = "connections: {abs: 10, rel: 1.1}" + (sessions ? ", sessions: {abs: 10, rel: 1.1}" : "")
            return """
                    - name: \(name)
                      trigger: \(trigger)
                      imbalance: {\(imbalance)}
                      for: \(wait)
                      cooldown: 0s
                      rebalanceStrategy: {connEvictRate: auto, autoEvictRate: {targetDuration: 1m, min: 1, max: 500}}

                """
        }
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: Policy
            metadata: {name: fuzz}
            spec:
              evaluationInterval: 15s
              staleness: 60s
              limits: {maxRebalancesPerDay: 1000, maxConsecutiveIneffective: 1000}
              rules:

            """
            + rule("scale-out", "{type: scaleOut, window: 5m}", for: "0s")
            + rule("restart", "{type: restart, window: 5m, nearZeroConnections: 10}", for: "0s")
            + rule("skew", "skew", for: "15s", sessions: true)
        guard let policy = PolicyLoader.load(text: text, file: "fuzz.yaml").policy else {
            fatalError("the engine target's policy does not load")
        }
        return policy
    }()

    static let hostile: [Double] = [
        .nan, .infinity, -.infinity, 1e19, 1e308, -1, -0.0, 100_000_001, 1e14 + 1, .ulpOfOne, .greatestFiniteMagnitude,
        0.5,
    ]

    static func number(_ byte: UInt8, scale: Double) -> Double {
        Int(byte) < hostile.count ? hostile[Int(byte)] : Double(Int(byte) - hostile.count) * scale
    }

    @Sendable static func check(_ bytes: [UInt8]) -> [String] { replay(bytes).broken }

    /// The cycles the bytes describe: how many Rebalances were decided, and the promises broken.
    static func replay(_ bytes: [UInt8]) -> (rebalances: Int, broken: [String]) {
        var promises = Promises()
        var rebalances = 0
        var replay = EngineReplay(policy: policy)
        var now = HostileInput.now
        var rest = bytes[...]
        let cycleSize = 1 + nodes.count * 5
        var cycles = 0
        // At most 200 cycles: the engine's memory is per cycle, and a bounded input keeps each run short.
        while rest.count >= cycleSize, cycles < 200 {
            cycles += 1
            let cycle = Array(rest.prefix(cycleSize))
            rest = rest.dropFirst(cycleSize)
            now += TimeInterval(cycle[0] % 60 + 1) * 5
            var observed: [NodeObservation] = []
            for (index, name) in nodes.enumerated() {
                let field = Array(cycle[(1 + index * 5)..<(6 + index * 5)])
                guard field[0] % 8 != 0 else { continue }  // the node reports nothing this cycle
                var node = NodeObservation(name: name)
                node.running = true
                node.liveConnections = number(field[1], scale: 50)
                node.sessions = number(field[2], scale: 50)
                node.uptimeSeconds = number(field[3], scale: 600)
                node.restartCounter = number(field[4], scale: 1)
                node.observedAt = now - TimeInterval(field[0] / 8)
                observed.append(node)
            }
            let checked = ObservationCheck.validate(SourceObservation(nodes: observed), at: now)
            let snapshot = ClusterSnapshot(
                cluster: cluster,
                takenAt: now,
                expectedNodes: nodes,
                nodes: checked.nodes,
                facts: ClusterFacts(
                    ready: true,
                    upgrading: false,
                    evacuating: false,
                    scalingIn: false,
                    rebalanceRunning: false,
                    enterprise: true
                )
            )
            let result = replay.evaluate(snapshot)
            guard let decision = result.rebalance else { continue }
            rebalances += 1
            let known = nodes.allSatisfy { name in
                checked.nodes.contains { $0.name == name && $0.liveConnections != nil }
            }
            promises.expect(
                known,
                "cycle \(cycles): a Rebalance (\(decision.rule)) from \(checked.nodes.map { "\($0.name)=\(String(describing: $0.liveConnections))" })"
            )
            if let rate = decision.strategy?.connEvictRate {
                promises.expect((1...500).contains(rate), "cycle \(cycles): connEvictRate \(rate)")
            }
            promises.expect(
                Set(decision.donors + decision.recipients).isSubset(of: nodes),
                "cycle \(cycles): donors \(decision.donors), recipients \(decision.recipients)"
            )
        }
        return (rebalances, promises.broken)
    }
}
