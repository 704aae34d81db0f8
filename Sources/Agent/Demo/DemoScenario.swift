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
    }

    static let name = "emqx-ee"
    static func node(_ ordinal: Int) -> String {
        "\(name)@\(name)-\(ordinal).\(name)-headless.default.svc.cluster.local"
    }

    /// The plan of this scenario (deterministic for a seed).
    public func plan(seed: UInt64) -> Plan {
        func cluster(_ counts: [Int]) -> SimulatedEMQXConfiguration {
            SimulatedEMQXConfiguration(
                name: Self.name, namespace: "default", kind: .emqxEnterprise,
                nodes: counts.map { SimulatedNodeSpec(liveConnections: $0) }, seed: seed)
        }
        switch self {
        case .scaleOut:
            return Plan(
                cluster: cluster([3333, 3333, 3334]),
                events: [TimedEvent(at: .seconds(5), event: .scaleOut(count: 1))],
                onset: .seconds(5), expectsRebalance: true, observeFor: .seconds(600))
        case .restart:
            return Plan(
                cluster: cluster([2500, 2500, 2500, 2500]),
                events: [TimedEvent(at: .seconds(5), event: .restart(node: Self.node(2), downtime: .seconds(5)))],
                onset: .seconds(5), expectsRebalance: true, observeFor: .seconds(600))
        case .skew:
            return Plan(
                cluster: cluster([2500, 2500, 2500, 2500]),
                events: [TimedEvent(at: .seconds(5), event: .organicSkew(node: Self.node(0), clientsPerSecond: 40, duration: .seconds(45)))],
                onset: .seconds(5), expectsRebalance: true, observeFor: .seconds(600))
        case .flapping:
            // Every 20 s: 50 clients/s drift to node 0 for 10 s, then heavy client churn for 10 s spreads them out
            // again through the load balancer. The imbalance holds about 15 s at a time, never the policy's 20 s `for`.
            var events: [TimedEvent] = []
            for cycle in 0..<6 {
                let start = 5 + cycle * 20
                events.append(TimedEvent(at: .seconds(start), event: .organicSkew(node: Self.node(0), clientsPerSecond: 50, duration: .seconds(10))))
                events.append(TimedEvent(at: .seconds(start + 10), event: .churn(clientsPerSecond: 1000, duration: .seconds(10))))
            }
            return Plan(
                cluster: cluster([2500, 2500, 2500, 2500]), events: events,
                onset: .seconds(5), expectsRebalance: false, observeFor: .seconds(130))
        }
    }
}
