import Foundation
import Simulation

/// The watched clusters of the light modes: names and node names only; every node holds the same number of
/// connections (balanced), so the agent only watches.
struct Fleet: Sendable {
    struct Cluster: Sendable {
        var namespace: String
        var name: String
        var nodes: [String]
    }

    static let connectionsPerNode = 500
    var clusters: [Cluster]

    init(clusters: Int, nodes: Int) {
        self.clusters = (0..<clusters).map { index in
            let name = "emqx-\(index)"
            return Cluster(
                namespace: "default",
                name: name,
                nodes: (0..<nodes).map { "emqx@\(name)-\($0).\(name)-headless.default.svc.cluster.local" }
            )
        }
    }

    /// The cluster's EMQX object (`apps.emqx.io/v2beta1`) with a Ready status listing every node, as the operator
    /// writes it. `refreshedAt` goes into the Ready condition's `lastUpdateTime`, as each reconcile rewrites it.
    static func emqxObject(_ cluster: Cluster, refreshedAt: Date) throws -> KubernetesJSON {
        let time = refreshedAt.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false))
        let nodes = cluster.nodes.map { node in
            """
            {"node":"\(node)","node_status":"running","otp_release":"26.2.5","version":"5.8.6","role":"core","edition":"Enterprise",\
            "connections":\(connectionsPerNode),"live_connections":\(connectionsPerNode)}
            """
        }.joined(separator: ",")
        let count = cluster.nodes.count
        let json = """
            {"apiVersion":"apps.emqx.io/v2beta1","kind":"EMQX",
             "metadata":{"name":"\(cluster.name)","namespace":"\(cluster.namespace)","labels":{"apps.emqx.io/instance":"\(cluster.name)"}},
             "spec":{"image":"emqx/emqx-enterprise:5.8.6","coreTemplate":{"spec":{"replicas":\(count)}}},
             "status":{"conditions":[{"type":"Ready","status":"True","reason":"ClusterReady","message":"Cluster is ready",\
            "lastTransitionTime":"2026-01-01T00:00:00Z","lastUpdateTime":"\(time)"}],
              "coreNodes":[\(nodes)],
              "coreNodesStatus":{"replicas":\(count),"readyReplicas":\(count),"currentRevision":"\(cluster.name)-1","updateRevision":"\(cluster.name)-1","currentReplicas":\(count),"updateReplicas":\(count)}}}
            """
        return try KubernetesJSON.parse(Data(json.utf8))
    }
}
