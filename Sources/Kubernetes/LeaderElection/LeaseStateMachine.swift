import AutorebalancerCore
import Foundation

/// Leader election over a `coordination.k8s.io/v1` Lease, as a value: feed it what was observed and what happened,
/// and it says what to write. The owner (`LeaderElector`) performs the I/O.
///
/// Expiry is judged the way client-go does: by how long the Lease record has gone *unchanged as seen locally*, never by
/// comparing the holder's `renewTime` with our clock (clocks of two pods may disagree).
public struct LeaseStateMachine: Sendable {
    /// What to do next.
    public enum Action: Sendable, Hashable {
        /// No Lease exists: create this one (we become the holder).
        case create(Lease)
        /// The Lease is free or expired: take it over with this update (carries the observed `resourceVersion`).
        case acquire(Lease)
        /// We hold it: renew with this update.
        case renew(Lease)
        /// Someone else holds a live Lease.
        case wait(holder: String)
        /// We were the leader and no longer are: stop writing now.
        case lost(reason: String)
    }

    public let configuration: LeaderElectionConfiguration
    public private(set) var isLeader = false
    /// When our last acquire/renew succeeded.
    public private(set) var lastRenewal: Date?
    private var observedRecord: Record?
    private var observedAt: Date?

    private struct Record: Hashable, Sendable {
        var holder: String?
        var renewTime: String?
        var transitions: Int?
    }

    public init(configuration: LeaderElectionConfiguration) { self.configuration = configuration }

    /// Leading, and the last renewal is recent enough that no one else can have taken over.
    public func isLeading(at now: Date) -> Bool {
        guard isLeader, let lastRenewal else { return false }
        return now < lastRenewal.addingTimeInterval(configuration.renewDeadline.seconds)
    }

    /// The Lease as read (`nil` when it does not exist) → what to write.
    public mutating func observed(_ lease: Lease?, at now: Date) -> Action {
        guard let lease else {
            if isLeader { return lose("the Lease was deleted") }
            return .create(makeLease(from: nil, at: now, takeover: true))
        }
        let record = Record(
            holder: lease.spec?.holderIdentity,
            renewTime: lease.spec?.renewTime,
            transitions: lease.spec?.leaseTransitions
        )
        if record != observedRecord {
            observedRecord = record
            observedAt = now
        }
        let holder = lease.spec?.holderIdentity ?? ""
        if holder == configuration.identity {
            if isLeader, let lastRenewal, now >= lastRenewal.addingTimeInterval(configuration.renewDeadline.seconds) {
                return lose("could not renew the Lease within the renew deadline (\(configuration.renewDeadline))")
            }
            return .renew(makeLease(from: lease, at: now, takeover: !isLeader))
        }
        if isLeader {
            return lose(
                holder.isEmpty ? "the Lease was released by someone else" : "the Lease is now held by \(holder)"
            )
        }
        if holder.isEmpty { return .acquire(makeLease(from: lease, at: now, takeover: true)) }
        let duration = lease.spec?.leaseDurationSeconds.map { Double($0) } ?? configuration.leaseDuration.seconds
        if let observedAt, now >= observedAt.addingTimeInterval(duration) {
            return .acquire(makeLease(from: lease, at: now, takeover: true))
        }
        return .wait(holder: holder)
    }

    /// The write of `.create`/`.acquire`/`.renew` succeeded with this answer.
    public mutating func succeeded(_ lease: Lease, at now: Date) {
        isLeader = true
        lastRenewal = now
        observedRecord = Record(
            holder: lease.spec?.holderIdentity,
            renewTime: lease.spec?.renewTime,
            transitions: lease.spec?.leaseTransitions
        )
        observedAt = now
    }

    /// A read or write failed (conflict, timeout). Returns `.lost` when a leader has now missed its renew deadline.
    public mutating func failed(at now: Date) -> Action? {
        guard isLeader, let lastRenewal else { return nil }
        if now >= lastRenewal.addingTimeInterval(configuration.renewDeadline.seconds) {
            return lose("could not renew the Lease within the renew deadline (\(configuration.renewDeadline))")
        }
        return nil
    }

    /// The update that releases a held Lease on graceful shutdown (holder cleared, 1 s duration, so a follower takes
    /// over at once), or `nil` when we do not hold it.
    public mutating func release(_ lease: Lease, at now: Date) -> Lease? {
        guard isLeader, lease.spec?.holderIdentity == configuration.identity else { return nil }
        isLeader = false
        var released = lease
        released.spec?.holderIdentity = nil
        released.spec?.leaseDurationSeconds = 1
        released.spec?.renewTime = KubernetesTime.formatMicro(now)
        return released
    }

    private mutating func lose(_ reason: String) -> Action {
        isLeader = false
        return .lost(reason: reason)
    }

    private func makeLease(from observed: Lease?, at now: Date, takeover: Bool) -> Lease {
        let time = KubernetesTime.formatMicro(now)
        var lease =
            observed
            ?? Lease(
                metadata: ObjectMeta(name: configuration.name, namespace: configuration.namespace),
                spec: Lease.Spec()
            )
        var spec = lease.spec ?? Lease.Spec()
        let previousHolder = spec.holderIdentity ?? ""
        spec.holderIdentity = configuration.identity
        spec.leaseDurationSeconds = Int(configuration.leaseDuration.seconds.rounded(.up))
        spec.renewTime = time
        if takeover || spec.acquireTime == nil {
            if previousHolder != configuration.identity {
                spec.acquireTime = time
                if observed != nil { spec.leaseTransitions = (spec.leaseTransitions ?? 0) + 1 }
            }
        }
        if spec.leaseTransitions == nil { spec.leaseTransitions = 0 }
        lease.spec = spec
        return lease
    }
}
