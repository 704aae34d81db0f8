import Act
import AutorebalancerCore
import Foundation
import Testing

/// The `EMQXRebalance` record state machine, case by case: intent, confirmation, crash windows reconciled from
/// `global_status`, aborts, manual runs behind the gates, deletion and clean-up.
@Suite struct EMQXRebalanceLifecycleTests {
    static let t0 = Date(timeIntervalSince1970: 1_795_000_000)
    static let coordinator = "emqx@10.0.0.1"
    static let nodes = ["emqx@10.0.0.1", "emqx@10.0.0.2", "emqx@10.0.0.3"]
    let lifecycle = EMQXRebalanceLifecycle(
        configuration: .init(cycle: .seconds(10), settleTime: .seconds(30), stuckAfter: .seconds(600), keepFinished: 2)
    )

    static func record(
        _ name: String,
        automatic: Bool = true,
        phase: EMQXRebalancePhase? = nil,
        created: Date = t0,
        requested: Date? = nil,
        started: Date? = nil,
        completed: Date? = nil,
        strategy: RebalanceStrategy = .init(connEvictRate: 10),
        nodes: [String]? = nodes,
        outcome: RebalanceOutcome? = nil,
        deleting: Bool = false,
        state: String? = nil
    ) -> EMQXRebalance {
        var metadata = ObjectMeta(name: name, namespace: "emqx")
        metadata.creationTimestamp = KubernetesTime.format(created)
        if automatic {
            metadata.labels = [
                RebalanceMetadata.managedByKey: RebalanceMetadata.managedByValue, RebalanceMetadata.clusterKey: "emqx",
            ]
        }
        if let outcome { metadata.annotations = [RebalanceMetadata.outcomeKey: outcome.rawValue] }
        if deleting {
            metadata.deletionTimestamp = KubernetesTime.format(created)
            metadata.finalizers = [EMQXRebalance.finalizer]
        }
        let status = phase.map {
            EMQXRebalanceStatus(
                phase: $0,
                coordinator: $0 == .pending ? nil : coordinator,
                nodes: nodes,
                donors: started == nil ? nil : ["emqx@10.0.0.1", "emqx@10.0.0.2"],
                recipients: started == nil ? nil : ["emqx@10.0.0.3"],
                emqxState: state,
                requestedTime: requested.map(KubernetesTime.format),
                startedTime: started.map(KubernetesTime.format),
                completedTime: completed.map(KubernetesTime.format)
            )
        }
        return EMQXRebalance(
            metadata: metadata,
            spec: .init(cluster: "emqx", nodes: nodes, strategy: strategy),
            status: status
        )
    }

    static let running = LoadRebalance.GlobalStatus(rebalances: [
        .init(
            node: coordinator,
            state: "evicting_conns",
            coordinatorNode: coordinator,
            donors: ["emqx@10.0.0.1", "emqx@10.0.0.2"],
            recipients: ["emqx@10.0.0.3"],
            connectionEvictionRate: 10,
            sessionEvictionRate: 500
        )
    ])
    static let idle = LoadRebalance.GlobalStatus()
    static let members = Dictionary(
        uniqueKeysWithValues: nodes.map {
            ($0, EMQXRebalanceLifecycle.Member(running: true, startedAt: t0.addingTimeInterval(-86_400)))
        }
    )

    func plan(
        _ records: [EMQXRebalance],
        at seconds: Double,
        emqx: EMQXRebalanceLifecycle.EMQXView,
        gate: String? = nil,
        members: [String: EMQXRebalanceLifecycle.Member]? = members,
        counts: [BalanceMath.NodeCounts]? = nil
    ) -> [EMQXRebalanceLifecycle.Action] {
        lifecycle.plan(
            records,
            inputs: .init(
                now: Self.t0.addingTimeInterval(seconds),
                emqx: emqx,
                closedGate: gate,
                rebalancedNodes: Self.nodes,
                members: members,
                counts: counts
            )
        )
    }

    // MARK: Intent and the crash windows

    @Test func intentSeenInGlobalStatusIsConfirmedNeverStartedAgain() {
        // Crash after EMQX started, before the record said so (or start answered 500 / the connection dropped).
        for record in [Self.record("r", phase: .starting, requested: Self.t0), Self.record("r")] {
            let actions = plan([record], at: 30, emqx: .status(Self.running))
            #expect(actions == [.confirm("r", entry: Self.running.rebalances[0])])
        }
    }

    @Test func intentNotSeenWaitsOneCycleThenFailsUnconfirmed() {
        let intent = Self.record("r", phase: .starting, requested: Self.t0)
        #expect(plan([intent], at: 5, emqx: .status(Self.idle)) == [.awaitConfirmation("r")])
        let late = plan([intent], at: 11, emqx: .status(Self.idle))
        guard case .unconfirmed("r", let reason)? = late.first else {
            Issue.record("not failed: \(late)")
            return
        }
        #expect(reason.hasPrefix("start not confirmed"))
        // Crash between writing the record and its status: the same, from the creation time.
        #expect(plan([Self.record("r")], at: 11, emqx: .status(Self.idle)).first?.isUnconfirmed == true)
    }

    @Test func intentWhileEMQXRunsSomeoneElsesRebalanceSaysSo() {
        var other = Self.running
        other.rebalances[0].coordinatorNode = "emqx@10.0.0.9"
        other.rebalances[0].node = "emqx@10.0.0.9"
        guard
            case .unconfirmed(_, let reason)? = plan(
                [Self.record("r", phase: .starting, requested: Self.t0)],
                at: 20,
                emqx: .status(other)
            ).first
        else {
            Issue.record("not failed")
            return
        }
        #expect(reason.contains("emqx@10.0.0.9"))
    }

    @Test func intentWithEMQXUnreachableDecidesNothingUntilStuck() {
        let intent = Self.record("r", phase: .starting, requested: Self.t0)
        #expect(plan([intent], at: 60, emqx: .unknown("refused")) == [.awaitEMQX("r", reason: "refused")])
        #expect(plan([intent], at: 601, emqx: .unknown("refused")) == [.stuck("r", since: Self.t0)])
    }

    // MARK: Running

    @Test func runningFollowsEMQXAndCompletesWhenItStops() {
        let record = Self.record("r", phase: .running, started: Self.t0, state: "evicting_conns")
        #expect(plan([record], at: 20, emqx: .status(Self.running)) == [.running("r", since: Self.t0)])
        var later = Self.running
        later.rebalances[0].state = "evicting_sessions"
        #expect(plan([record], at: 40, emqx: .status(later)) == [.confirm("r", entry: later.rebalances[0])])
        #expect(plan([record], at: 60, emqx: .status(Self.idle)) == [.finished("r", abortedBecause: nil)])
        #expect(plan([record], at: 601, emqx: .status(Self.running)) == [.stuck("r", since: Self.t0)])
    }

    @Test func coordinatorThatDisappearsEndsFailedWithTheReason() {
        let record = Self.record("r", phase: .running, started: Self.t0, state: "evicting_conns")
        var members = Self.members
        members[Self.coordinator] = nil
        guard
            case .finished("r", let reason?)? = plan([record], at: 60, emqx: .status(Self.idle), members: members).first
        else {
            Issue.record("abort not seen")
            return
        }
        #expect(reason.contains("coordinator \(Self.coordinator)"))
    }

    @Test func participantRestartEndsFailedWithTheReason() {
        let record = Self.record("r", phase: .running, started: Self.t0, state: "evicting_conns")
        var members = Self.members
        members["emqx@10.0.0.3"] = .init(running: true, startedAt: Self.t0.addingTimeInterval(20))
        guard
            case .finished("r", let reason?)? = plan([record], at: 60, emqx: .status(Self.idle), members: members).first
        else {
            Issue.record("abort not seen")
            return
        }
        #expect(reason == "node emqx@10.0.0.3 restarted during the rebalance; EMQX aborted it")
    }

    @Test func finishedRecordsAreJudgedFromMetricsAfterTheSettleTime() {
        let done = Self.record("r", phase: .failed, started: Self.t0, completed: Self.t0.addingTimeInterval(60))
        #expect(
            plan([done], at: 70, emqx: .status(Self.idle)) == [.settling("r", until: Self.t0.addingTimeInterval(90))]
        )
        #expect(plan([done], at: 95, emqx: .status(Self.idle)) == [.awaitMetrics("r")])
        let counts = [2553.0, 2553, 2554, 2340].enumerated().map {
            BalanceMath.NodeCounts(name: "n\($0.offset)", liveConnections: $0.element, sessions: $0.element)
        }
        guard case .judge("r", .balanced, _)? = plan([done], at: 95, emqx: .status(Self.idle), counts: counts).first
        else {
            Issue.record("not judged balanced")
            return
        }
        // Never started (refused, unconfirmed): nothing to judge.
        #expect(plan([Self.record("x", phase: .failed, completed: Self.t0)], at: 95, emqx: .status(Self.idle)).isEmpty)
    }

    // MARK: Manual runs

    @Test func manualRunStartsWhenEveryGateIsOpenAndEMQXIsIdle() {
        let manual = Self.record("m", automatic: false, nodes: nil)
        let actions = plan([manual], at: 1, emqx: .status(Self.idle))
        #expect(
            actions == [
                .start("m", coordinator: Self.coordinator, request: .init(nodes: Self.nodes, connEvictRate: 10))
            ]
        )
    }

    @Test func manualRunWaitsPendingWithTheReason() {
        let manual = Self.record("m", automatic: false, nodes: nil)
        #expect(
            plan([manual], at: 1, emqx: .status(Self.idle), gate: "the cluster is not Ready") == [
                .hold("m", reason: "the cluster is not Ready")
            ]
        )
        #expect(
            plan([manual], at: 1, emqx: .status(Self.running)).first?.heldReason?.contains("EMQX reports a rebalance")
                == true
        )
        #expect(plan([manual], at: 1, emqx: .unknown("refused")).first?.heldReason?.contains("refused") == true)
        let busy = plan(
            [
                Self.record("ours", phase: .running, started: Self.t0),
                Self.record("m", automatic: false, created: Self.t0.addingTimeInterval(1)),
            ],
            at: 5,
            emqx: .status(Self.running)
        )
        #expect(busy.last?.heldReason == "EMQXRebalance ours is Running")
        // Two manual runs: only the oldest starts this cycle.
        let two = plan(
            [
                Self.record("a", automatic: false),
                Self.record("b", automatic: false, created: Self.t0.addingTimeInterval(1)),
            ],
            at: 5,
            emqx: .status(Self.idle)
        )
        #expect(two.map(\.record) == ["a", "b"])
        #expect(two.last?.heldReason == "EMQXRebalance a is starting")
    }

    @Test func manualRunWithASpecEMQXWouldRefuseFailsNamingTheField() {
        let bad = Self.record("m", automatic: false, strategy: .init(connEvictRate: 10, relConnThreshold: "0.9"))
        #expect(
            plan([bad], at: 1, emqx: .status(Self.idle)).first?.rejectedReason?.contains(
                "spec.strategy.relConnThreshold"
            ) == true
        )
        let empty = Self.record("e", automatic: false, nodes: [])
        #expect(plan([empty], at: 1, emqx: .status(Self.idle)).first?.rejectedReason?.contains("spec.nodes") == true)
    }

    // MARK: Deletion and clean-up

    @Test func deletingARunningRecordStopsEMQXThenReleases() {
        let running = Self.record("r", phase: .running, started: Self.t0, deleting: true)
        #expect(plan([running], at: 20, emqx: .status(Self.running)) == [.stop("r", coordinator: Self.coordinator)])
        #expect(plan([running], at: 20, emqx: .status(Self.idle)) == [.release("r")])
        #expect(plan([running], at: 20, emqx: .unknown("refused")) == [.awaitEMQX("r", reason: "refused")])
        #expect(
            plan(
                [Self.record("d", phase: .completed, started: Self.t0, deleting: true)],
                at: 20,
                emqx: .status(Self.running)
            ) == [.release("d")]
        )
    }

    @Test func onlyTheNewestFinishedRecordsOfOursAreKept() {
        let finished = (0..<4).map {
            Self.record(
                "f\($0)",
                phase: .completed,
                created: Self.t0.addingTimeInterval(Double($0)),
                started: Self.t0,
                completed: Self.t0,
                outcome: .balanced
            )
        }
        let manual = Self.record(
            "manual",
            automatic: false,
            phase: .completed,
            started: Self.t0,
            completed: Self.t0,
            outcome: .balanced
        )
        #expect(plan(finished + [manual], at: 100, emqx: .status(Self.idle)) == [.delete("f0"), .delete("f1")])
    }

    @Test func historyCountsStartedRecordsLikeRebalances() {
        let past = EMQXRebalanceHistory.past([
            Self.record("running", phase: .running, started: Self.t0),
            Self.record("pending", automatic: false, phase: .pending),
            Self.record(
                "done",
                phase: .completed,
                started: Self.t0,
                completed: Self.t0.addingTimeInterval(60),
                outcome: .balanced
            ),
        ])
        #expect(past.map(\.name) == ["running", "done"])
        #expect(past[0].isActive && past[0].ours)
        #expect(
            past[1].phase == .completed && past[1].outcome == .balanced
                && past[1].finishedAt == Self.t0.addingTimeInterval(60)
        )
        #expect(
            lifecycle.blocker([Self.record("running", phase: .running, started: Self.t0)])
                == "EMQXRebalance running is Running"
        )
    }
}

extension EMQXRebalanceLifecycle.Action {
    var isUnconfirmed: Bool { if case .unconfirmed = self { true } else { false } }
    var heldReason: String? { if case .hold(_, let reason) = self { reason } else { nil } }
    var rejectedReason: String? { if case .reject(_, let reason) = self { reason } else { nil } }
}
