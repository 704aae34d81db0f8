import AutorebalancerCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Thrown by `LeaderElector.run()` when leadership is lost: the agent then exits and Kubernetes restarts it as a
/// follower (see docs/kubernetes.md).
public struct LeadershipLostError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "leadership lost: \(reason); exiting so the pod restarts as a follower" }
}

/// Drives a `LeaseStateMachine` every `retryPeriod`: acquires, renews, and on graceful shutdown releases the Lease.
/// Runs on every replica; only the writer paths check `isLeader`.
///
/// - Important: on loss of the Lease `isLeader` turns false at once (also when the loop itself is stuck: leadership
///   lapses by time after the renew deadline) and `run()` throws `LeadershipLostError`.
public final class LeaderElector<C: Clock>: Service where C.Duration == Duration {
    public let configuration: LeaderElectionConfiguration
    private let api: any KubernetesAPI
    private let clock: C
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let machine: Mutex<LeaseStateMachine>
    private let reported = Mutex<Bool>(false)
    private let changes: AsyncStream<Bool>.Continuation
    /// `true` then `false` as leadership is gained and lost (one consumer).
    public let leadershipChanges: AsyncStream<Bool>

    /// - Parameters:
    ///   - clock: drives the retry period (a manual clock in tests).
    ///   - now: wall time for Lease timestamps and deadlines.
    public init(
        api: any KubernetesAPI,
        configuration: LeaderElectionConfiguration,
        clock: C,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.api = api
        self.configuration = configuration
        self.clock = clock
        self.now = now
        self.logger = logger
        self.machine = Mutex(LeaseStateMachine(configuration: configuration))
        (leadershipChanges, changes) = AsyncStream<Bool>.makeStream()
    }

    /// Whether this process may write now. Cheap; checked before every write.
    public var isLeader: Bool {
        let now = now()
        return machine.withLock { $0.isLeading(at: now) }
    }

    public func run() async throws {
        logger.info(
            "leader election: Lease \(configuration.namespace)/\(configuration.name) as \(configuration.identity)"
        )
        defer { changes.finish() }
        try await runElectionRounds(every: configuration.retryPeriod, clock: clock) {
            if case .lost(let reason) = await tick() {
                logger.error("leader election: lost the Lease: \(reason); stopping all writes and exiting")
                throw LeadershipLostError(reason: reason)
            }
        } release: {
            await release()
        }
    }

    /// One acquire/renew cycle: read the Lease, decide, write. Returns what the state machine decided.
    @discardableResult
    public func tick() async -> LeaseStateMachine.Action {
        let observed: Lease?
        do {
            observed = try await api.lease(namespace: configuration.namespace, name: configuration.name)
        } catch let error as KubernetesError where error.code == .notFound {
            observed = nil
        } catch {
            logger.warning("leader election: cannot read the Lease: \(error)")
            return failed()
        }
        let at = now()
        let action = machine.withLock { $0.observed(observed, at: at) }
        let written: Lease
        do {
            switch action {
            case .create(let lease):
                written = try await api.createLease(lease)
            case .acquire(let lease), .renew(let lease):
                written = try await api.updateLease(lease)
            case .wait, .lost:
                publish()
                return action
            }
        } catch let error as KubernetesError where error.code == .conflict || error.code == .alreadyExists {
            // Someone else wrote first: re-read on the next cycle.
            logger.debug("leader election: Lease changed under us (\(error.code)); re-reading")
            return failed()
        } catch {
            logger.warning("leader election: cannot write the Lease: \(error)")
            return failed()
        }
        let done = now()
        machine.withLock { $0.succeeded(written, at: done) }
        publish()
        return action
    }

    /// Releases the Lease if held (graceful shutdown), so a follower takes over without waiting for expiry.
    public func release() async {
        guard let current = try? await api.lease(namespace: configuration.namespace, name: configuration.name) else {
            return
        }
        let at = now()
        guard let released = machine.withLock({ $0.release(current, at: at) }) else { return }
        publish()
        do {
            _ = try await api.updateLease(released)
            logger.info("leader election: released the Lease")
        } catch {
            logger.warning(
                "leader election: could not release the Lease (a follower takes over when it expires): \(error)"
            )
        }
    }

    private func failed() -> LeaseStateMachine.Action {
        let at = now()
        let lost = machine.withLock { $0.failed(at: at) }
        publish()
        return lost ?? .wait(holder: "")
    }

    private func publish() {
        let leading = isLeader
        let changed = reported.withLock { previous in
            defer { previous = leading }
            return previous != leading
        }
        if changed {
            logger.notice(leading ? "leader election: now the leader" : "leader election: not the leader")
            changes.yield(leading)
        }
    }
}
