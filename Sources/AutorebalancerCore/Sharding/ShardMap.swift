/// How watched clusters are split across replicas: every cluster belongs to one of `count` shards (a stable hash of
/// its namespace and name), and every shard to one live replica (rendezvous hashing: the replica with the highest
/// hash of shard and identity). When a replica joins or leaves, only the shards it wins or held move.
///
/// The hashes are FNV-1a over UTF-8, the same in every process and version (Swift's `Hasher` is seeded per process).
public struct ShardMap: Sendable, Hashable {
    public let count: Int

    public init(count: Int) {
        self.count = max(1, count)
    }

    /// The shard a cluster belongs to.
    public func shard(of cluster: ClusterReference) -> Int {
        Int(Self.mix(Self.fnv1a("\(cluster.namespace)/\(cluster.name)")) % UInt64(count))
    }

    /// The replica that should own `shard` among the live ones (`nil` when there is none).
    public static func owner(of shard: Int, among identities: some Collection<String>) -> String? {
        identities.max { lhs, rhs in
            let (l, r) = (weight(shard, lhs), weight(shard, rhs))
            return l != r ? l < r : lhs < rhs
        }
    }

    static func weight(_ shard: Int, _ identity: String) -> UInt64 {
        mix(fnv1a("\(shard)/\(identity)"))
    }

    /// 64-bit FNV-1a.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// A finaliser (splitmix64's): FNV-1a of strings that differ only at the end differs mostly in low bits.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
