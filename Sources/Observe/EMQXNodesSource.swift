import AutorebalancerCore
import Foundation

/// Every node's counts of a cluster from one `GET /api/v5/nodes` (EMQX 5; an API key is required, on EMQX 6 with the
/// `cluster_operations` scope): `live_connections` (connected clients) and `connections` (which counts sessions),
/// with each node's role, status and uptime. One request per cluster per cycle, instead of one per node.
///
/// The request and the reading of its answer are the ones the EMQX API actuator uses (`LoadRebalance.NodeInfo`:
/// hostile numbers are unknown, never counts). A node EMQX lists as stopped is reported not running, without counts.
public struct EMQXNodesSource: MetricSource {
    public let kind = "emqx"
    /// Reads `/api/v5/nodes` of a cluster whose object lists these nodes.
    public typealias ReadNodes = @Sendable (ClusterReference, [ExpectedNode]) async throws -> [LoadRebalance.NodeInfo]

    private let read: ReadNodes
    private let now: @Sendable () -> Date

    public init(read: @escaping ReadNodes, now: @escaping @Sendable () -> Date = { Date() }) {
        self.read = read
        self.now = now
    }

    public func observe(_ request: ObservationRequest) async throws -> SourceObservation {
        let listed = try await read(request.cluster, request.expectedNodes)
        let observedAt = now()
        var warnings: [String] = []
        var seen: Set<String> = []
        var nodes: [NodeObservation] = []
        for info in listed {
            guard seen.insert(info.node).inserted else {
                warnings.append(
                    "/api/v5/nodes of \(request.cluster) lists node \(info.node) more than once; the first entry is used"
                )
                continue
            }
            var node = NodeObservation(
                name: info.node,
                role: info.role,
                running: info.isRunning,
                observedAt: observedAt
            )
            if info.isRunning {
                node.liveConnections = info.liveConnections.map(Double.init)
                node.sessions = info.sessions.map(Double.init)
                node.uptimeSeconds = info.uptimeMilliseconds.flatMap { $0 <= 315_360_000_000 ? Double($0) / 1000 : nil }
                if info.liveConnections == nil {
                    warnings.append(
                        "/api/v5/nodes gives no usable live_connections for node \(info.node) of \(request.cluster) (EMQX before 5.1, or not a count)"
                    )
                }
            }
            if node.role == nil { node.role = request.expectedNodes.first { $0.name == info.node }?.role ?? nil }
            nodes.append(node)
        }
        if nodes.isEmpty {
            warnings.append("/api/v5/nodes of \(request.cluster) lists no nodes")
        }
        let expected = Set(request.expectedNodes.map(\.name))
        let missing = expected.subtracting(seen).sorted()
        if !missing.isEmpty {
            warnings.append("/api/v5/nodes of \(request.cluster) does not list \(missing.joined(separator: ", "))")
        }
        return SourceObservation(nodes: nodes, warnings: warnings)
    }
}
