import AutorebalancerCore
import Foundation

/// Where the shard Leases live, who we are, and the client-go timing shared by every Lease.
public struct ShardElectionConfiguration: Sendable, Hashable {
    public var namespace: String
    /// Prefix of every Lease: `<name>-member-<i>` (one per replica taking part) and `<name>-shard-<i>`.
    public var name: String
    public var shards: Int
    public var identity: String
    public var leaseDuration: Duration
    public var renewDeadline: Duration
    public var retryPeriod: Duration

    public init(
        namespace: String,
        name: String = "emqx-autorebalancer",
        shards: Int,
        identity: String,
        leaseDuration: Duration = .seconds(15),
        renewDeadline: Duration = .seconds(10),
        retryPeriod: Duration = .seconds(2)
    ) {
        self.namespace = namespace
        self.name = name
        self.shards = max(1, shards)
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
    }

    public func shardLease(_ shard: Int) -> String { "\(name)-shard-\(shard)" }
    /// Member slots: as many as shards (a replica without a shard has nothing to do).
    public func memberLease(_ slot: Int) -> String { "\(name)-member-\(slot)" }

    func lease(_ name: String) -> LeaderElectionConfiguration {
        LeaderElectionConfiguration(
            namespace: namespace,
            name: name,
            identity: identity,
            leaseDuration: leaseDuration,
            renewDeadline: renewDeadline,
            retryPeriod: retryPeriod
        )
    }
}

/// Sharded leader election as a value. Each replica that takes part holds one member Lease (a fixed pool of slots,
/// so no Lease is left behind when a replica goes away); the live members are the holders of the member Leases no
/// one has let expire. Each shard has its own Lease, and belongs to the member the rendezvous assignment over the
/// live members names (`ShardMap.assignment`): a replica acquires the shards it should own once they are free or
/// expired, renews them, and releases the ones that now belong to another member, which then acquires them.
///
/// Every Lease is judged by its own `LeaseStateMachine` (expiry as seen locally, renew deadline), so a shard has at
/// most one owner at a time: its owner stops writing for it at its renew deadline, before anyone else may take it
/// after its lease duration.
public struct ShardElectionStateMachine: Sendable {
    /// One write to make.
    public enum Write: Sendable, Hashable {
        case create(Lease)
        case update(Lease)

        public var lease: Lease {
            switch self {
            case .create(let lease), .update(let lease): lease
            }
        }
    }

    /// What one round decided.
    public struct Round: Sendable, Hashable {
        public var writes: [Write]
        /// Set when a held Lease was lost involuntarily (not renewed in time, taken): stop writing, exit.
        public var lost: String?
    }

    public let configuration: ShardElectionConfiguration
    private var members: [LeaseStateMachine]
    private var shards: [LeaseStateMachine]
    /// The live members as last computed.
    public private(set) var liveMembers: [String] = []

    public init(configuration: ShardElectionConfiguration) {
        self.configuration = configuration
        members = (0..<configuration.shards).map {
            LeaseStateMachine(configuration: configuration.lease(configuration.memberLease($0)))
        }
        shards = (0..<configuration.shards).map {
            LeaseStateMachine(configuration: configuration.lease(configuration.shardLease($0)))
        }
    }

    /// Whether this replica may write for `shard` now.
    public func owns(_ shard: Int, at now: Date) -> Bool {
        shards.indices.contains(shard) && shards[shard].isLeading(at: now)
    }

    /// The shards this replica may write for now.
    public func ownedShards(at now: Date) -> [Int] {
        shards.indices.filter { shards[$0].isLeading(at: now) }
    }

    /// The member slot this replica holds.
    public func memberSlot(at now: Date) -> Int? {
        members.indices.first { members[$0].isLeading(at: now) }
    }

    /// The Leases as listed (by name; absent ones do not exist) → what to write.
    public mutating func observed(_ leases: [String: Lease], at now: Date) -> Round {
        var writes: [Write] = []
        var lost: String?
        let identity = configuration.identity

        // Membership: keep our slot, or take the first free one; the others' live holders are the other members.
        var live: Set<String> = []
        var slot: Int?
        var freeSlot: (index: Int, write: Write)?
        for index in members.indices {
            let action = members[index].observed(leases[configuration.memberLease(index)], at: now)
            switch action {
            case .renew(let lease) where members[index].isLeader:
                slot = index
                writes.append(.update(lease))
            case .lost(let reason):
                lost = lost ?? "member Lease \(configuration.memberLease(index)): \(reason)"
            case .wait(let holder):
                live.insert(holder)
            case .create(let lease):
                if freeSlot == nil { freeSlot = (index, .create(lease)) }
            case .acquire(let lease), .renew(let lease):
                if freeSlot == nil { freeSlot = (index, .update(lease)) }
            }
        }
        if slot == nil, let freeSlot {
            // A member from the next round on, once this write succeeds.
            writes.append(freeSlot.write)
        }
        if slot != nil { live.insert(identity) }
        liveMembers = live.sorted()

        // Shards: as the members' rendezvous assignment says.
        let owners = ShardMap(count: configuration.shards).assignment(among: live)
        for index in shards.indices {
            let name = configuration.shardLease(index)
            let observed = leases[name]
            let wanted = slot != nil && owners[index] == identity
            let wasLeading = shards[index].isLeader
            let action = shards[index].observed(observed, at: now)
            if wasLeading {
                switch action {
                case .lost(let reason):
                    lost = lost ?? "shard Lease \(name): \(reason)"
                case .renew(let lease) where wanted:
                    writes.append(.update(lease))
                default:
                    // Ours, but another member should own it now: stop writing for it, then hand it over.
                    if let observed, let released = shards[index].release(observed, at: now) {
                        writes.append(.update(released))
                    }
                }
                continue
            }
            let holder = observed?.spec?.holderIdentity ?? ""
            if holder == identity, !wanted, let observed {
                // Released before, but the release was not seen to land: send it again.
                writes.append(.update(Self.released(observed, at: now)))
                continue
            }
            guard wanted else { continue }
            switch action {
            case .create(let lease): writes.append(.create(lease))
            case .acquire(let lease), .renew(let lease): writes.append(.update(lease))
            case .wait, .lost: break
            }
        }
        return Round(writes: writes, lost: lost)
    }

    /// A write succeeded with this answer.
    public mutating func succeeded(_ written: Lease, at now: Date) {
        guard let name = written.metadata.name, written.spec?.holderIdentity == configuration.identity else { return }
        if let index = members.indices.first(where: { configuration.memberLease($0) == name }) {
            members[index].succeeded(written, at: now)
        } else if let index = shards.indices.first(where: { configuration.shardLease($0) == name }) {
            shards[index].succeeded(written, at: now)
        }
    }

    /// A write (or the list) failed. Returns why, when a Lease held has now missed its renew deadline.
    public mutating func failed(_ name: String?, at now: Date) -> String? {
        var lost: String?
        for index in members.indices where name == nil || configuration.memberLease(index) == name {
            if case .lost(let reason)? = members[index].failed(at: now) {
                lost = lost ?? "member Lease \(configuration.memberLease(index)): \(reason)"
            }
        }
        for index in shards.indices where name == nil || configuration.shardLease(index) == name {
            if case .lost(let reason)? = shards[index].failed(at: now) {
                lost = lost ?? "shard Lease \(configuration.shardLease(index)): \(reason)"
            }
        }
        return lost
    }

    /// The updates that release every Lease held (graceful shutdown), so the other members take over at once.
    public mutating func releaseAll(_ leases: [String: Lease], at now: Date) -> [Lease] {
        var released: [Lease] = []
        for index in shards.indices {
            if let lease = leases[configuration.shardLease(index)], let update = shards[index].release(lease, at: now) {
                released.append(update)
            }
        }
        for index in members.indices {
            if let lease = leases[configuration.memberLease(index)], let update = members[index].release(lease, at: now)
            {
                released.append(update)
            }
        }
        return released
    }

    static func released(_ lease: Lease, at now: Date) -> Lease {
        var released = lease
        released.spec?.holderIdentity = nil
        released.spec?.leaseDurationSeconds = 1
        released.spec?.renewTime = KubernetesTime.formatMicro(now)
        return released
    }
}
