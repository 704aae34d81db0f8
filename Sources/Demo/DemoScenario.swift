import AutorebalancerCore
import Simulation

/// The demo's scenarios: what the simulated cluster looks like at the start and what happens to it.
public enum DemoScenario: String, Sendable, CaseIterable {
    /// The seed scenario: three nodes hold 3333, 3333 and 3334 connections; at 5 s a fourth node joins at 0.
    case scaleOut = "scale-out"
    /// Four balanced nodes; at 5 s one restarts, its clients reconnect to the others, and it comes back empty.
    case restart
    /// Four balanced nodes; from 5 s clients drift to one node (cached DNS, sticky clients) until it is overloaded.
    case skew
    /// Four balanced nodes; clients drift to one node, then churn spreads them out again, every 20 s: the imbalance
    /// never lasts the rule's `for`, so nothing is created.
    case flapping
    /// An EMQX 5 cluster with two cores and three replicants (1500 clients each); at 5 s an HPA scales the replicants
    /// to 5 through the scale subresource; the new pods start 15 s and 20 s later, empty. The agent waits for both,
    /// then rebalances. Once that is judged, the HPA scales in to 4: the operator evacuates one replicant (3.0 marks its
    /// pod `apps.emqx.io/scaling-down`) and the agent holds back until the node is gone.
    case hpa

    /// One scheduled event, at a simulated offset from the start.
    public struct TimedEvent: Sendable {
        public var at: Duration
        public var event: EMQXScenarioEvent
    }

    public struct Plan: Sendable {
        public var cluster: SimulatedEMQXConfiguration
        public var events: [TimedEvent]
        /// When the imbalance starts.
        public var onset: Duration
        /// Whether a rebalance is expected (the demo ends once it is judged) or not (the demo runs `observeFor`).
        public var expectsRebalance: Bool
        public var observeFor: Duration
        /// Replicant counts an HPA sets through the scale subresource, at offsets (`hpa`).
        public var scaleOuts: [(at: Duration, replicants: Int)] = []
        /// After the rebalance is judged (or, where the agent cannot act, refused), the HPA scales in to this many
        /// replicants (`hpa`).
        public var scaleInTo: Int?
    }

    /// The simulated EMQX object every scenario runs: `default/emqx-ee`.
    public static let name = "emqx-ee"
    public static let namespace = "default"
    static func node(_ ordinal: Int) -> String {
        "\(name)@\(name)-\(ordinal).\(name)-headless.default.svc.cluster.local"
    }

    /// The EMQX version the demo's nodes report on an operator generation: 4.4 (`EmqxEnterprise`) on 2.2, EMQX 5 on
    /// the others (which serve no EmqxEnterprise).
    static func emqx5Version(_ generation: OperatorGeneration) -> String {
        generation == .v3_0 ? "6.0.1" : generation == .v2_3 ? "5.10.1" : "5.8.6"
    }

    /// The plan of this scenario (deterministic for a seed). On 2.2 the cluster is the seed case's EmqxEnterprise; on
    /// 2.3 and 3.0 the same four nodes and counts as an EMQX 5 `EMQX` object (same node names). `hpa` is always EMQX 5.
    public func plan(seed: UInt64, operator generation: OperatorGeneration = .v2_2) -> Plan {
        func cluster(_ counts: [Int]) -> SimulatedEMQXConfiguration {
            let nodes = counts.map { SimulatedNodeSpec(liveConnections: $0) }
            guard generation != .v2_2 else {
                return SimulatedEMQXConfiguration(
                    name: Self.name,
                    namespace: Self.namespace,
                    kind: .emqxEnterprise,
                    nodes: nodes,
                    seed: seed
                )
            }
            return SimulatedEMQXConfiguration(
                name: Self.name,
                namespace: Self.namespace,
                kind: .emqx,
                nodes: nodes,
                seed: seed,
                version: Self.emqx5Version(generation),
                nodeNamePrefix: Self.name,
                corePodPrefix: Self.name
            )
        }
        switch self {
        case .scaleOut:
            return Plan(
                cluster: cluster([3333, 3333, 3334]),
                events: [TimedEvent(at: .seconds(5), event: .scaleOut(count: 1))],
                onset: .seconds(5),
                expectsRebalance: true,
                observeFor: .seconds(600)
            )
        case .restart:
            // Down for 12 s (a pod restart is rarely quicker): at least two of the agent's 5 s evaluations see the
            // node gone, so its return reads as a restart even when one evaluation runs late.
            return Plan(
                cluster: cluster([2500, 2500, 2500, 2500]),
                events: [TimedEvent(at: .seconds(5), event: .restart(node: Self.node(2), downtime: .seconds(12)))],
                onset: .seconds(5),
                expectsRebalance: true,
                observeFor: .seconds(600)
            )
        case .skew:
            return Plan(
                cluster: cluster([2500, 2500, 2500, 2500]),
                events: [
                    TimedEvent(
                        at: .seconds(5),
                        event: .organicSkew(node: Self.node(0), clientsPerSecond: 40, duration: .seconds(45))
                    )
                ],
                onset: .seconds(5),
                expectsRebalance: true,
                observeFor: .seconds(600)
            )
        case .flapping:
            // Every 20 s: 50 clients/s drift to node 0 for 14 s, then heavy client churn for 6 s spreads them out
            // again through the load balancer (churn of r clients/s undoes the excess by about r/10,000 per second, so
            // 3000/s leaves about an eighth of it). Node 0 stays over the rule's threshold (1.2× the others, about 360
            // clients of excess) for roughly 8 to 11 s per cycle, well short of the policy's 20 s `for` even with the
            // agent's 5 s evaluation interval; a weaker churn would let the excess pile up from cycle to cycle.
            var events: [TimedEvent] = []
            for cycle in 0..<6 {
                let start = 5 + cycle * 20
                events.append(
                    TimedEvent(
                        at: .seconds(start),
                        event: .organicSkew(node: Self.node(0), clientsPerSecond: 50, duration: .seconds(14))
                    )
                )
                events.append(
                    TimedEvent(at: .seconds(start + 14), event: .churn(clientsPerSecond: 3000, duration: .seconds(6)))
                )
            }
            return Plan(
                cluster: cluster([2500, 2500, 2500, 2500]),
                events: events,
                onset: .seconds(5),
                expectsRebalance: false,
                observeFor: .seconds(130)
            )
        case .hpa:
            let nodes =
                [SimulatedNodeSpec(liveConnections: 0), SimulatedNodeSpec(liveConnections: 0)]
                + (0..<3).map { _ in SimulatedNodeSpec(role: .replicant, liveConnections: 1500) }
            let configuration = SimulatedEMQXConfiguration(
                name: Self.name,
                namespace: Self.namespace,
                kind: .emqx,
                nodes: nodes,
                seed: seed,
                version: Self.emqx5Version(generation)
            )
            return Plan(
                cluster: configuration,
                events: [],
                onset: .seconds(5),
                expectsRebalance: true,
                observeFor: .seconds(900),
                scaleOuts: [(at: .seconds(5), replicants: 5)],
                scaleInTo: 4
            )
        }
    }
}
