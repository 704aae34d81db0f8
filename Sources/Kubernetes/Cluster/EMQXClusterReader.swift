import AutorebalancerCore
import Foundation

/// Reads watched clusters' EMQX objects through the API and turns them into `ClusterReading`s.
public struct EMQXClusterReader: Sendable {
    public let api: any KubernetesAPI

    public init(api: any KubernetesAPI) { self.api = api }

    /// The EMQX object of a cluster (for Events, ownerReferences and the actuator).
    public func object(_ cluster: ClusterReference) async throws -> ClusterObject {
        try await ClusterObject.fetch(cluster, from: api)
    }

    /// Facts, node set and status counts of a cluster.
    public func read(_ cluster: ClusterReference) async throws -> ClusterReading {
        ClusterReading.read(try await object(cluster))
    }
}
