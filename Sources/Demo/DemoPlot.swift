import AutorebalancerCore
import Foundation

extension DemoRunner.Result {
    /// The chart `demo --plot` writes: every node's live connections over the demo's simulated time (a line per node,
    /// broken where the node was not running), with the agent's decisions and the Rebalance's phase changes marked.
    public var plot: ConnectionsPlot {
        let series = nodeOrder.map { node in
            ConnectionsPlot.Series(
                node: node,
                points: timeline.map { entry in
                    (startDate.addingTimeInterval(entry.seconds), entry.nodes[node].map(Double.init))
                }
            )
        }
        let markers = markers.map {
            ConnectionsPlot.Marker(
                time: startDate.addingTimeInterval($0.seconds),
                label: $0.label,
                kind: $0.kind,
                formula: $0.formula,
                whyNot: $0.whyNot
            )
        }
        return ConnectionsPlot(
            title: "emqx-autorebalancer demo: \(summary.scenario) (\(DemoScenario.namespace)/\(DemoScenario.name))",
            series: series,
            markers: markers
        )
    }
}
