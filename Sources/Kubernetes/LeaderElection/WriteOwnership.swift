import AutorebalancerCore

/// Which clusters this replica may write for now: all of them while it holds the one leader Lease, or those of the
/// shards it holds (`ShardElector`).
public protocol WriteOwnership: Sendable {
    /// How the watched clusters are split (one shard without sharding).
    var shardMap: ShardMap { get }
    func ownsShard(_ shard: Int) -> Bool
    /// Whether this replica takes part in the writing at all (holds at least one shard).
    var isLeader: Bool { get }
}

extension WriteOwnership {
    public func owns(_ cluster: ClusterReference) -> Bool {
        ownsShard(shardMap.shard(of: cluster))
    }

    public var ownedShards: [Int] { (0..<shardMap.count).filter(ownsShard) }
}

extension LeaderElector: WriteOwnership {
    public var shardMap: ShardMap { ShardMap(count: 1) }
    public func ownsShard(_ shard: Int) -> Bool { shard == 0 && isLeader }
}

/// The cluster a cycle is working on, set by the loop around each cluster's cycle, so the writers' gate (`canWrite`,
/// a plain `() -> Bool`) can ask whether this replica owns that cluster without every writer passing it along.
public enum WriteScope {
    @TaskLocal public static var cluster: ClusterReference?
}

/// The Leases of a namespace in one request (sharded leader election reads all of its Leases every round).
public protocol LeaseLister: Sendable {
    func leases(namespace: String) async throws -> [Lease]
}

extension HTTPKubernetesClient: LeaseLister {
    public func leases(namespace: String) async throws -> [Lease] {
        try await list(.leases, namespace: namespace, labelSelector: nil, lane: .leases)
    }
}
