import AutorebalancerCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Drives a `ShardElectionStateMachine` every `retryPeriod`: one LIST of the namespace's Leases, then the writes it
/// decides (take a member slot, acquire, renew or hand over shards). Runs on every replica; the writers check
/// `owns(cluster)` (through `WriteScope`), the loop observes only the clusters of owned shards.
///
/// - Important: as with one Lease, losing a Lease involuntarily (not renewed within the renew deadline, or taken)
///   stops the writes for it at once, and `run()` throws `LeadershipLostError` so the process restarts. Handing a
///   shard to a member that should own it is not a loss.
public final class ShardElector<C: Clock>: Service, WriteOwnership where C.Duration == Duration {
    public let configuration: ShardElectionConfiguration
    public let shardMap: ShardMap
    private let api: any KubernetesAPI
    private let lister: any LeaseLister
    private let clock: C
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let machine: Mutex<ShardElectionStateMachine>
    private let reported = Mutex<[Int]>([])

    public init(
        api: any KubernetesAPI,
        lister: any LeaseLister,
        configuration: ShardElectionConfiguration,
        clock: C,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.api = api
        self.lister = lister
        self.configuration = configuration
        self.shardMap = ShardMap(count: configuration.shards)
        self.clock = clock
        self.now = now
        self.logger = logger
        self.machine = Mutex(ShardElectionStateMachine(configuration: configuration))
    }

    public func ownsShard(_ shard: Int) -> Bool {
        let now = now()
        return machine.withLock { $0.owns(shard, at: now) }
    }

    public var isLeader: Bool { !ownedShards.isEmpty }

    /// The replicas taking part, as last seen.
    public var liveMembers: [String] { machine.withLock { $0.liveMembers } }

    public func run() async throws {
        logger.info(
            "leader election: \(configuration.shards) shards, Leases \(configuration.namespace)/\(configuration.name)-shard-* as \(configuration.identity)"
        )
        try await runElectionRounds(every: configuration.retryPeriod, clock: clock) {
            if let lost = await tick() {
                logger.error("leader election: lost \(lost); stopping all writes and exiting")
                throw LeadershipLostError(reason: lost)
            }
        } release: {
            await release()
        }
    }

    /// One round. Returns why a Lease was lost involuntarily, if one was.
    @discardableResult
    public func tick() async -> String? {
        let leases: [String: Lease]
        do {
            leases = try await listed()
        } catch {
            logger.warning("leader election: cannot list the Leases: \(error)")
            let at = now()
            let lost = machine.withLock { $0.failed(nil, at: at) }
            publish()
            return lost
        }
        let at = now()
        let round = machine.withLock { $0.observed(leases, at: at) }
        if let lost = round.lost {
            publish()
            return lost
        }
        for write in round.writes {
            do {
                let written: Lease
                switch write {
                case .create(let lease): written = try await api.createLease(lease)
                case .update(let lease): written = try await api.updateLease(lease)
                }
                let done = now()
                machine.withLock { $0.succeeded(written, at: done) }
            } catch let error as KubernetesError where error.code == .conflict || error.code == .alreadyExists {
                logger.debug(
                    "leader election: Lease \(write.lease.metadata.name ?? "") changed under us (\(error.code)); re-reading"
                )
            } catch {
                logger.warning("leader election: cannot write the Lease \(write.lease.metadata.name ?? ""): \(error)")
                let done = now()
                if let lost = machine.withLock({ $0.failed(write.lease.metadata.name, at: done) }) {
                    publish()
                    return lost
                }
            }
        }
        publish()
        return nil
    }

    /// Releases every Lease held (graceful shutdown), so the other members take the shards without waiting.
    public func release() async {
        guard let leases = try? await listed() else { return }
        let at = now()
        let released = machine.withLock { $0.releaseAll(leases, at: at) }
        publish()
        for lease in released {
            do {
                _ = try await api.updateLease(lease)
            } catch {
                logger.warning(
                    "leader election: could not release the Lease \(lease.metadata.name ?? "") (it expires instead): \(error)"
                )
            }
        }
        if !released.isEmpty { logger.info("leader election: released \(released.count) Lease(s)") }
    }

    private func listed() async throws -> [String: Lease] {
        let all = try await lister.leases(namespace: configuration.namespace)
        let prefix = configuration.name + "-"
        var byName: [String: Lease] = [:]
        for lease in all {
            if let name = lease.metadata.name, name.hasPrefix(prefix) { byName[name] = lease }
        }
        return byName
    }

    private func publish() {
        let owned = ownedShards
        let changed = reported.withLock { previous in
            defer { previous = owned }
            return previous != owned
        }
        if changed {
            logger.notice(
                "leader election: owns shards \(owned.isEmpty ? "none" : owned.map(String.init).joined(separator: ",")) of \(configuration.shards)",
                metadata: ["members": "\(liveMembers.count)"]
            )
        }
    }
}
