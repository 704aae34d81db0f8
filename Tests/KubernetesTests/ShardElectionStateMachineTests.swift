import Foundation
import Testing

@testable import AutorebalancerCore
@testable import Kubernetes

/// Sharded leader election as values, against a Lease table with the API server's optimistic concurrency; time moves
/// by hand, one retry period per round.
struct ShardElectionStateMachineTests {
    static let shards = 8
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// Leases as the API server keeps them: a create of an existing name and an update of a stale version fail.
    final class LeaseTable {
        var leases: [String: Lease] = [:]
        var version = 100

        func apply(_ write: ShardElectionStateMachine.Write) -> Lease? {
            var lease = write.lease
            let name = lease.metadata.name ?? ""
            switch write {
            case .create:
                guard leases[name] == nil else { return nil }
            case .update:
                guard let stored = leases[name], stored.metadata.resourceVersion == lease.metadata.resourceVersion
                else { return nil }
            }
            version += 1
            lease.metadata.resourceVersion = String(version)
            leases[name] = lease
            return lease
        }
    }

    struct Replica {
        var machine: ShardElectionStateMachine
        var alive = true
        var lost: String?

        init(_ identity: String) {
            machine = ShardElectionStateMachine(
                configuration: .init(
                    namespace: "emqx",
                    shards: ShardElectionStateMachineTests.shards,
                    identity: identity
                )
            )
        }

        var identity: String { machine.configuration.identity }

        mutating func round(_ table: LeaseTable, at now: Date) {
            guard alive else { return }
            let round = machine.observed(table.leases, at: now)
            if let lost = round.lost { self.lost = lost }
            for write in round.writes {
                if let written = table.apply(write) {
                    machine.succeeded(written, at: now)
                } else {
                    _ = machine.failed(write.lease.metadata.name, at: now)
                }
            }
        }
    }

    /// Runs rounds of every replica, checking after each replica's round that no shard has two owners.
    static func run(_ replicas: inout [Replica], _ table: LeaseTable, rounds: Int, from start: inout Date) {
        for _ in 0..<rounds {
            for index in replicas.indices {
                replicas[index].round(table, at: start)
                for shard in 0..<shards {
                    let owners = replicas.filter { $0.machine.owns(shard, at: start) }.map(\.identity)
                    #expect(owners.count <= 1, "shard \(shard) owned by \(owners) at \(start.timeIntervalSince(t0)) s")
                }
            }
            start = start.addingTimeInterval(2)
        }
    }

    static func owners(_ replicas: [Replica], at now: Date) -> [Int: String] {
        var owners: [Int: String] = [:]
        for shard in 0..<shards {
            if let owner = replicas.first(where: { $0.machine.owns(shard, at: now) }) { owners[shard] = owner.identity }
        }
        return owners
    }

    @Test func aSingleReplicaOwnsEveryShard() {
        let table = LeaseTable()
        var replicas = [Replica("agent-a")]
        var now = Self.t0
        Self.run(&replicas, table, rounds: 3, from: &now)
        #expect(replicas[0].machine.ownedShards(at: now) == Array(0..<Self.shards))
        #expect(replicas[0].machine.memberSlot(at: now) == 0)
        #expect(table.leases.keys.filter { $0.hasPrefix("emqx-autorebalancer-member-") }.count == 1)
    }

    @Test func threeReplicasSplitTheShardsByRendezvousAndAJoinerTakesItsShare() {
        let table = LeaseTable()
        var replicas = [Replica("agent-a"), Replica("agent-b")]
        var now = Self.t0
        Self.run(&replicas, table, rounds: 4, from: &now)
        var owners = Self.owners(replicas, at: now)
        #expect(owners.count == Self.shards)
        #expect(owners == ShardMap(count: Self.shards).assignment(among: ["agent-a", "agent-b"]))

        replicas.append(Replica("agent-c"))
        Self.run(&replicas, table, rounds: 4, from: &now)
        owners = Self.owners(replicas, at: now)
        #expect(owners.count == Self.shards, "no shard is left without an owner once the replicas agree")
        #expect(owners == ShardMap(count: Self.shards).assignment(among: ["agent-a", "agent-b", "agent-c"]))
        for agent in ["agent-a", "agent-b", "agent-c"] {
            #expect(
                (2...3).contains(owners.values.filter { $0 == agent }.count),
                "an even share of 8 over 3: \(owners)"
            )
        }
        #expect(replicas.allSatisfy { $0.lost == nil }, "handing a shard over is not a loss")
    }

    @Test func aKilledReplicasShardsMoveAfterOneLeaseDurationAndNeverHaveTwoOwners() {
        let table = LeaseTable()
        var replicas = [Replica("agent-a"), Replica("agent-b"), Replica("agent-c")]
        var now = Self.t0
        Self.run(&replicas, table, rounds: 5, from: &now)
        let before = Self.owners(replicas, at: now)
        let orphaned = before.filter { $0.value == "agent-c" }.map(\.key).sorted()
        #expect(!orphaned.isEmpty)

        // agent-c is killed: no release, no more rounds. Its view lapses at its renew deadline by itself.
        replicas[2].alive = false
        let killedAt = now
        var movedAt: Date?
        for _ in 0..<15 {
            Self.run(&replicas, table, rounds: 1, from: &now)
            let owners = Self.owners(Array(replicas[0..<2]), at: now)
            if movedAt == nil, orphaned.allSatisfy({ owners[$0] != nil }) { movedAt = now }
        }
        let moved = try! #require(movedAt)
        // One lease duration (15 s) of silence as seen by the survivors, plus the retry period it takes to see it.
        #expect(moved.timeIntervalSince(killedAt) <= 15 + 2 * 2)
        let after = Self.owners(Array(replicas[0..<2]), at: now)
        #expect(after == ShardMap(count: Self.shards).assignment(among: ["agent-a", "agent-b"]))
        #expect(after.values.filter { $0 == "agent-a" }.count == 4)
        #expect(replicas[0].lost == nil && replicas[1].lost == nil)
    }

    @Test func aGracefulReleaseHandsOverWithoutWaitingForExpiry() {
        let table = LeaseTable()
        var replicas = [Replica("agent-a"), Replica("agent-b")]
        var now = Self.t0
        Self.run(&replicas, table, rounds: 4, from: &now)
        let released = replicas[1].machine.releaseAll(table.leases, at: now)
        for lease in released { _ = table.apply(.update(lease)) }
        replicas[1].alive = false
        #expect(replicas[1].machine.ownedShards(at: now).isEmpty, "stops writing before the releases are sent")
        // The member slot is free at once, so agent-b no longer counts; its shards are free, so agent-a takes them.
        Self.run(&replicas, table, rounds: 2, from: &now)
        #expect(replicas[0].machine.ownedShards(at: now) == Array(0..<Self.shards))
    }

    @Test func aRenewalThatFailsPastTheDeadlineIsALoss() {
        let table = LeaseTable()
        var replicas = [Replica("agent-a")]
        var now = Self.t0
        Self.run(&replicas, table, rounds: 3, from: &now)
        var lost: String?
        for _ in 0..<6 {
            now = now.addingTimeInterval(2)
            lost = lost ?? replicas[0].machine.failed(nil, at: now)
        }
        #expect(lost?.contains("renew deadline") == true)
        #expect(replicas[0].machine.ownedShards(at: now).isEmpty)
    }

    @Test func clustersSpreadOverShardsTheSameWayInEveryProcess() {
        let map = ShardMap(count: 8)
        let clusters = (0..<400).map { ClusterReference(namespace: "ns-\($0 % 7)", name: "emqx-\($0)") }
        var perShard = Array(repeating: 0, count: 8)
        for cluster in clusters { perShard[map.shard(of: cluster)] += 1 }
        #expect(perShard.allSatisfy { $0 > 25 }, "roughly even: \(perShard)")
        // Fixed values: the hash must never change between versions, or shards would move on an upgrade.
        #expect(map.shard(of: ClusterReference(namespace: "default", name: "emqx-ee")) == 1)
        #expect(map.shard(of: ClusterReference(namespace: "emqx", name: "emqx")) == 6)
        #expect(map.shard(of: ClusterReference(namespace: "team-a", name: "broker")) == 2)
        // The rendezvous weights are fixed too (values from an independent FNV-1a 64 + splitmix64 implementation).
        #expect(
            ShardMap(count: 6).assignment(among: ["agent-a", "agent-b", "agent-c"])
                == [0: "agent-a", 1: "agent-c", 2: "agent-c", 3: "agent-b", 4: "agent-a", 5: "agent-b"]
        )
        #expect(map.assignment(among: [String]()).isEmpty)
    }

    @Test func theAssignmentIsEvenTheSameEverywhereAndMovesLittleWhenAReplicaLeaves() {
        let map = ShardMap(count: 12)
        var moved = 0
        for trial in 0..<50 {
            let members = (0..<3).map {
                "agent-\(trial)-\($0)-\(UInt32(truncatingIfNeeded: trial &* 2_654_435_761 &+ $0))"
            }
            let owners = map.assignment(among: members)
            #expect(owners.count == 12)
            #expect(members.allSatisfy { member in owners.values.filter { $0 == member }.count == 4 })
            #expect(
                map.assignment(among: members.reversed()) == owners,
                "the order members are seen in does not matter"
            )
            let survivors = map.assignment(among: Array(members.dropLast()))
            #expect(survivors.values.allSatisfy { members.dropLast().contains($0) })
            moved += (0..<12).filter { owners[$0] != members.last && survivors[$0] != owners[$0] }.count
        }
        // Of the 8 shards the survivors held, few change hands between them (pure rendezvous would move none, but
        // could leave a replica without work).
        #expect(Double(moved) / 50 < 2, "on average \(Double(moved) / 50) of 8 survivors' shards moved")
    }
}
