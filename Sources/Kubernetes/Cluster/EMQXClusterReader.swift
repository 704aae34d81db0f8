import AutorebalancerCore
import Foundation

/// Reads watched clusters' EMQX objects through the API, at the version discovery picks, and turns them into
/// `ClusterReading`s.
public struct EMQXClusterReader: Sendable {
    public let discovery: OperatorDiscovery

    public init(discovery: OperatorDiscovery) { self.discovery = discovery }

    /// The EMQX object of a cluster (for Events, ownerReferences and the actuator).
    public func object(_ cluster: ClusterReference) async throws -> ClusterObject {
        try await discovery.object(of: cluster)
    }

    /// Facts, node set and status counts of a cluster (pods not consulted).
    public func read(_ cluster: ClusterReference) async throws -> ClusterReading {
        ClusterReading.read(try await object(cluster))
    }
}
