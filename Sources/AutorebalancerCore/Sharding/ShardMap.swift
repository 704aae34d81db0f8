/// How watched clusters are split across replicas: every cluster belongs to one of `count` shards (a stable hash of
/// its namespace and name), and every shard to one live replica by rendezvous hashing with bounded loads
/// (`assignment(among:)`): each replica gets an even share, and when one joins or leaves few shards other than its
/// own move.
///
/// The hashes are `StableHash.fnv1a64` (then mixed), the same in every process and version.
public struct ShardMap: Sendable, Hashable {
    public let count: Int

    public init(count: Int) {
        self.count = max(1, count)
    }

    /// The shard a cluster belongs to.
    public func shard(of cluster: ClusterReference) -> Int {
        Int(Self.mix(StableHash.fnv1a64("\(cluster.namespace)/\(cluster.name)")) % UInt64(count))
    }

    /// Which live replica should own each shard. Pairs of (shard, replica) are taken in order of their rendezvous
    /// weight, highest first, each giving the shard to the replica unless the shard already has an owner or the
    /// replica already holds its share (`count / replicas`, rounded up): every replica gets an even share, and every
    /// replica computes the same answer from the same members. Empty without members.
    public func assignment(among identities: some Collection<String>) -> [Int: String] {
        let members = Array(Set(identities)).sorted()
        guard !members.isEmpty else { return [:] }
        let share = (count + members.count - 1) / members.count
        var pairs: [(weight: UInt64, shard: Int, member: Int)] = []
        pairs.reserveCapacity(count * members.count)
        for shard in 0..<count {
            for (index, member) in members.enumerated() { pairs.append((Self.weight(shard, member), shard, index)) }
        }
        pairs.sort { ($0.weight, $1.shard, $1.member) > ($1.weight, $0.shard, $0.member) }
        var owners: [Int: String] = [:]
        var load = Array(repeating: 0, count: members.count)
        for pair in pairs where owners[pair.shard] == nil && load[pair.member] < share {
            owners[pair.shard] = members[pair.member]
            load[pair.member] += 1
        }
        return owners
    }

    static func weight(_ shard: Int, _ identity: String) -> UInt64 {
        mix(StableHash.fnv1a64("\(shard)/\(identity)"))
    }

    /// A finaliser (splitmix64's): FNV-1a of strings that differ only at the end differs mostly in low bits.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
