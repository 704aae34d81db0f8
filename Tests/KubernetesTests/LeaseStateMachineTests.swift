import AutorebalancerCore
import Foundation
import Testing

@testable import Kubernetes

struct LeaseStateMachineTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let config = LeaderElectionConfiguration(namespace: "ns", identity: "me")

    static func lease(holder: String?, renew: Date = t0, duration: Int = 15, version: String = "1") -> Lease {
        var metadata = ObjectMeta(name: "emqx-autorebalancer", namespace: "ns")
        metadata.resourceVersion = version
        return Lease(
            metadata: metadata,
            spec: .init(
                holderIdentity: holder,
                leaseDurationSeconds: duration,
                renewTime: KubernetesTime.formatMicro(renew),
                leaseTransitions: 3
            )
        )
    }

    enum Expected: Equatable { case create, acquire, renew, wait, lost }

    static func kind(_ action: LeaseStateMachine.Action) -> Expected {
        switch action {
        case .create: .create
        case .acquire: .acquire
        case .renew: .renew
        case .wait: .wait
        case .lost: .lost
        }
    }

    /// (observed holder, leader before?, seconds since the record was first seen, expected)
    @Test(arguments: [
        (nil as String?, false, 0.0, Expected.create),
        ("", false, 0.0, .acquire),
        ("other", false, 0.0, .wait),
        ("other", false, 14.9, .wait),
        ("other", false, 15.0, .acquire),
        ("me", false, 0.0, .renew),
        ("me", true, 5.0, .renew),
        ("me", true, 10.0, .lost),
        ("other", true, 1.0, .lost),
    ])
    func table(holder: String?, leader: Bool, elapsed: Double, expected: Expected) {
        var machine = LeaseStateMachine(configuration: Self.config)
        let observed: Lease? = holder.map { Self.lease(holder: $0) }
        if let observed { _ = machine.observed(observed, at: Self.t0) }  // first sight of the record
        if leader { machine.succeeded(Self.lease(holder: "me"), at: Self.t0) }
        let action = machine.observed(observed, at: Self.t0.addingTimeInterval(elapsed))
        #expect(Self.kind(action) == expected)
        if expected == .lost { #expect(machine.isLeading(at: Self.t0.addingTimeInterval(elapsed)) == false) }
    }

    @Test func takeoverKeepsResourceVersionAndCountsTransitions() {
        var machine = LeaseStateMachine(configuration: Self.config)
        _ = machine.observed(Self.lease(holder: "other", version: "7"), at: Self.t0)
        let action = machine.observed(Self.lease(holder: "other", version: "7"), at: Self.t0.addingTimeInterval(16))
        guard case .acquire(let lease) = action else {
            Issue.record("expected acquire, got \(action)")
            return
        }
        #expect(lease.metadata.resourceVersion == "7")
        #expect(lease.spec?.holderIdentity == "me")
        #expect(lease.spec?.leaseTransitions == 4)
        #expect(lease.spec?.leaseDurationSeconds == 15)
        #expect(lease.spec?.acquireTime == KubernetesTime.formatMicro(Self.t0.addingTimeInterval(16)))
    }

    @Test func aRenewingHolderIsNeverTakenOver() {
        var machine = LeaseStateMachine(configuration: Self.config)
        for second in stride(from: 0.0, through: 60.0, by: 2.0) {
            let action = machine.observed(
                Self.lease(holder: "other", renew: Self.t0.addingTimeInterval(second)),
                at: Self.t0.addingTimeInterval(second)
            )
            #expect(Self.kind(action) == .wait)
        }
    }

    @Test func leadershipLapsesByTimeAndFailuresReportLoss() {
        var machine = LeaseStateMachine(configuration: Self.config)
        machine.succeeded(Self.lease(holder: "me"), at: Self.t0)
        #expect(machine.isLeading(at: Self.t0.addingTimeInterval(9.9)))
        #expect(!machine.isLeading(at: Self.t0.addingTimeInterval(10)))
        #expect(machine.failed(at: Self.t0.addingTimeInterval(4)) == nil)
        #expect(machine.failed(at: Self.t0.addingTimeInterval(10)).map(Self.kind) == .lost)
    }

    @Test func releaseClearsTheHolder() {
        var machine = LeaseStateMachine(configuration: Self.config)
        #expect(machine.release(Self.lease(holder: "me"), at: Self.t0) == nil)  // not leader: nothing to release
        machine.succeeded(Self.lease(holder: "me"), at: Self.t0)
        let released = machine.release(Self.lease(holder: "me"), at: Self.t0.addingTimeInterval(1))
        #expect(released?.spec?.holderIdentity == nil)
        #expect(released?.spec?.leaseDurationSeconds == 1)
        #expect(!machine.isLeading(at: Self.t0.addingTimeInterval(1)))
    }

    @Test func identityIsHostnamePlusRandomSuffix() {
        let a = LeaderElectionConfiguration.defaultIdentity(hostname: "agent-7d9f")
        let b = LeaderElectionConfiguration.defaultIdentity(hostname: "agent-7d9f")
        #expect(a.hasPrefix("agent-7d9f-") && a.count == "agent-7d9f-".count + 8)
        #expect(a != b)
    }
}
