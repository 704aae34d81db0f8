import Foundation
import Testing

@testable import AutorebalancerCore

/// The pure parts of acting through EMQX's API: which way a cluster is acted on (`actuator:` against discovery), the
/// cluster gates a manual run waits for, a lost start confirmed late, and a cluster read from `/api/v5/nodes`.
@Suite struct EMQXAPIActingTests {
    static let cluster = ClusterReference(namespace: "emqx", name: "emqx", kind: .emqx)
    static let operator22 = OperatorAPIs(resources: [
        "v2beta1": ["emqxes", "rebalances"], "v1beta4": ["emqxenterprises"],
    ])
    static let operator30 = OperatorAPIs(resources: ["v3beta1": ["emqxes", "emqxapikeys"]])

    // MARK: actuator: against discovery

    @Test func autoTakesTheRebalanceResourceWhereServedElseEMQXsAPI() {
        #expect(
            ClusterPlan.make(for: Self.cluster, served: Self.operator22, direct: .available).acting
                == .rebalanceResource
        )
        #expect(ClusterPlan.make(for: Self.cluster, served: Self.operator30, direct: .available).acting == .emqxAPI)
        let noKey = ClusterPlan.make(
            for: Self.cluster,
            served: Self.operator30,
            direct: .unavailable("no EMQX API credentials are configured for it")
        )
        #expect(
            noKey.acting
                == .alertOnly(
                    reason: "EMQX Operator 3.0 has no Rebalance resource; no EMQX API credentials are configured for it"
                )
        )
    }

    @Test func aForcedWayThatCannotWorkIsAlertOnlyWithWhatToChange() {
        #expect(
            ClusterPlan.make(for: Self.cluster, served: Self.operator22, direct: .available, actuator: .emqxAPI).acting
                == .emqxAPI
        )
        #expect(
            ClusterPlan.make(
                for: Self.cluster,
                served: Self.operator22,
                direct: .available,
                actuator: .rebalanceResource
            ).acting == .rebalanceResource
        )
        let forcedResource = ClusterPlan.make(
            for: Self.cluster,
            served: Self.operator30,
            direct: .available,
            actuator: .rebalanceResource
        )
        #expect(
            forcedResource.acting.alertOnlyReason?.hasPrefix(
                "actuator: rebalanceResource is configured, but EMQX Operator 3.0 has no Rebalance resource"
            ) == true,
            "\(forcedResource.acting)"
        )
        #expect(
            forcedResource.acting.alertOnlyReason?.hasSuffix(
                "set actuator: auto or emqxAPI to act through EMQX's own API"
            ) == true
        )
        let forcedAPI = ClusterPlan.make(
            for: Self.cluster,
            served: Self.operator22,
            direct: .unavailable("no key"),
            actuator: .emqxAPI
        )
        #expect(forcedAPI.acting == .alertOnly(reason: "actuator: emqxAPI is configured; no key"))
        let enterprise = ClusterReference(namespace: "emqx", name: "emqx-ee", kind: .emqxEnterprise)
        #expect(
            ClusterPlan.make(for: enterprise, served: Self.operator22, direct: .available, actuator: .emqxAPI).acting
                .alertOnlyReason?
                .contains("EmqxEnterprise is EMQX 4.4") == true
        )
        // An unreadable object stays what discovery says, whatever the setting.
        let unreadable = ClusterPlan.make(
            for: enterprise,
            served: Self.operator30,
            direct: .available,
            actuator: .emqxAPI
        )
        #expect(unreadable.acting == .alertOnly(reason: "its EMQX object cannot be read"))
    }

    @Test func aClusterWithoutAnObjectIsActedOnThroughItsAPIAndSaysSo() {
        let plan = ClusterPlan.withoutObject(Self.cluster, direct: .available)
        #expect(plan.acting == .emqxAPI)
        #expect(!plan.readsObject)
        #expect(
            plan.line(emqxVersions: ["5.8.9"], sources: ["status"])
                == "emqx/emqx (EMQX): no EMQX Operator (no EMQX object: nodes from EMQX's /api/v5/nodes), EMQX 5.8.9, source status, calls EMQX's load_rebalance API"
        )
        #expect(
            ClusterPlan.withoutObject(Self.cluster, direct: .unavailable("why")).acting.alertOnlyReason?.hasSuffix(
                "; why"
            ) == true
        )
        #expect(ClusterPlan.make(for: Self.cluster, served: .none).readsObject)
    }

    // MARK: Cluster gates of a manual run

    @Test func manualRunsWaitForTheClusterGatesOnlyInTheEnginesOrderAndWords() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(ClusterGates.firstClosed(.assumedFine, at: now) == nil)
        var facts = ClusterFacts.assumedFine
        facts.ready = nil
        #expect(ClusterGates.firstClosed(facts, at: now) == WhyNot(.notReady, "cluster readiness unknown"))
        facts = .assumedFine
        facts.upgrading = true
        facts.evacuating = true
        #expect(ClusterGates.firstClosed(facts, at: now) == WhyNot(.upgrading, "upgrade in progress"))
        facts.upgrading = false
        #expect(ClusterGates.firstClosed(facts, at: now)?.reason == .evacuating)
        // Operator 3.0's stand-back facts hold a manual run too.
        facts = .assumedFine
        facts.podsBeingRemoved = ["emqx-replicant-2"]
        #expect(ClusterGates.firstClosed(facts, at: now)?.reason == .scalingDown)
        facts = .assumedFine
        facts.operatorPaused = true
        #expect(ClusterGates.firstClosed(facts, at: now)?.reason == .operatorPaused)
        // A running rebalance is the record lifecycle's to see (from global_status), not a gate here.
        facts = .assumedFine
        facts.rebalanceRunning = true
        #expect(ClusterGates.firstClosed(facts, at: now) == nil)
    }

    // MARK: A lost start confirmed late

    @Test func aLateConfirmationCountsOnceAndEndsTheFailedAttemptsBackoff() {
        let decided = Date(timeIntervalSince1970: 1_800_000_000)
        let failure = ActionFailure(.unavailable, "start answer lost")
        let retry = CreateRetry(
            failures: 1,
            lastFailure: failure,
            lastAttemptAt: decided,
            notBefore: decided.addingTimeInterval(30),
            escalated: false
        )
        let state = ClusterEngineState(
            cluster: Self.cluster,
            rules: ["skew": .firing(since: decided, alerted: false, retry: retry), "other": .inactive]
        )
        let late = ConfirmedAction(rule: "skew", name: "emqx-skew-1", at: decided.addingTimeInterval(10))
        let confirmed = state.confirmingLate(late)
        #expect(confirmed.confirmed == [late])
        #expect(confirmed.rules["skew"] == .acted(late))
        #expect(confirmed.rules["other"] == .inactive)
        #expect(confirmed.confirmingLate(late) == confirmed, "known by name: nothing changes")
        // A rule that has moved on keeps its state; the confirmation still counts for cooldowns and limits.
        let cooling = ClusterEngineState(cluster: Self.cluster, rules: ["skew": .coolingDown(since: nil)])
            .confirmingLate(late)
        #expect(cooling.rules["skew"] == .coolingDown(since: nil))
        #expect(cooling.confirmed == [late])
    }

    // MARK: A cluster read from /api/v5/nodes

    @Test func nodesAnswerBecomesTheClusterReading() throws {
        let set = LoadRebalance.NodeSet(
            try JSONDecoder().decode(
                [LoadRebalance.NodeInfo].self,
                from: Data(
                    """
                    [{"node":"emqx@core-0","node_status":"running","role":"core","edition":"Enterprise","version":"5.8.9","uptime":1000,"live_connections":10,"connections":12},
                     {"node":"emqx@10.0.0.7","node_status":"running","role":"replicant","edition":"Enterprise","version":"5.8.9","uptime":5000,"live_connections":3333,"connections":3333},
                     {"node":"emqx@10.0.0.8","node_status":"stopped","role":"replicant","edition":"Enterprise","version":"5.8.9","live_connections":-5,"connections":1e300}]
                    """.utf8
                )
            )
        )
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let reading = set.reading(at: now, evacuating: false)
        #expect(reading.expectedNodes.map(\.name) == ["emqx@10.0.0.7", "emqx@10.0.0.8"])
        #expect(reading.facts.ready == false)
        #expect(reading.facts.enterprise == true)
        #expect(reading.facts.evacuating == false)
        #expect(reading.facts.upgrading == nil, "unknown without an operator")
        #expect(reading.notes == ["EMQX reports nodes not running: emqx@10.0.0.8"])
        #expect(reading.emqxVersions == ["5.8.9"])
        #expect(
            reading.nodes[0]
                == NodeObservation(
                    name: "emqx@10.0.0.7",
                    role: .replicant,
                    running: true,
                    liveConnections: 3333,
                    sessions: 3333,
                    observedAt: now,
                    uptimeSeconds: 5
                )
        )
        // Hostile counts are unknown, never a number.
        #expect(reading.nodes[1].liveConnections == nil)
        #expect(reading.nodes[1].sessions == nil)
        #expect(set.rebalanced == ["emqx@10.0.0.7"])
    }
}
