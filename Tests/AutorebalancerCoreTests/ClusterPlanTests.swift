import Testing

@testable import AutorebalancerCore

/// What discovery reveals per operator generation, and how the agent then reads and acts on each kind of cluster.
struct ClusterPlanTests {
    static let operator21 = OperatorAPIs(resources: [
        "v1beta4": ["emqxenterprises", "rebalances"], "v2beta1": ["emqxes"],
    ])
    static let operator22 = OperatorAPIs(resources: [
        "v1beta4": ["emqxenterprises"], "v2beta1": ["emqxes", "rebalances"],
    ])
    static let operator23 = OperatorAPIs(resources: ["v2": ["emqxes"], "v2beta1": ["emqxes", "rebalances"]])
    static let operator30 = OperatorAPIs(resources: ["v3beta1": ["emqxes", "emqxapikeys"]])
    static let emqx = ClusterReference(namespace: "default", name: "emqx", kind: .emqx)
    static let enterprise = ClusterReference(namespace: "default", name: "emqx-ee", kind: .emqxEnterprise)

    @Test func generations() {
        #expect(OperatorAPIs.none.generation == .none)
        #expect(Self.operator21.generation == .v2_1)
        #expect(Self.operator22.generation == .v2_2)
        #expect(Self.operator23.generation == .v2_3)
        #expect(Self.operator30.generation == .v3_0)
        // A Rebalance CRD left behind by an upgrade to 3.0 has no controller: still 3.0.
        #expect(OperatorAPIs(resources: ["v3beta1": ["emqxes"], "v2beta1": ["rebalances"]]).generation == .v3_0)
        #expect(OperatorAPIs(resources: ["v9": ["emqxes"]]).generation == .unknown)
    }

    @Test func theNewestServedVersionIsRead() {
        #expect(Self.operator22.objectVersion(for: .emqx) == .v2beta1)
        #expect(Self.operator23.objectVersion(for: .emqx) == .v2)  // v2beta1 is deprecated there
        #expect(Self.operator30.objectVersion(for: .emqx) == .v3beta1)
        #expect(Self.operator22.objectVersion(for: .emqxEnterprise) == .v1beta4)
        #expect(Self.operator23.objectVersion(for: .emqxEnterprise) == nil)
    }

    @Test func howTheAgentActs() {
        #expect(ClusterPlan.make(for: Self.emqx, served: Self.operator22).acting == .rebalanceResource)
        #expect(ClusterPlan.make(for: Self.enterprise, served: Self.operator22).acting == .rebalanceResource)
        #expect(ClusterPlan.make(for: Self.emqx, served: Self.operator23).acting == .rebalanceResource)

        // 2.1: v1beta4 Rebalance has no instanceKind and always targets an EmqxEnterprise (emqx-operator-facts.md).
        let on21 = ClusterPlan.make(for: Self.emqx, served: Self.operator21)
        #expect(on21.acting.alertOnlyReason?.contains("always targets an EmqxEnterprise") == true)
        #expect(on21.acting.alertOnlyReason?.contains("cannot rebalance an EMQX 5 cluster") == true)
        #expect(
            ClusterPlan.make(for: Self.enterprise, served: Self.operator21).acting.alertOnlyReason?.contains(
                "upgrade the operator to 2.2"
            ) == true
        )

        // 2.3+ no longer serves EmqxEnterprise: the object cannot be read, and the reason says so.
        let enterpriseOn23 = ClusterPlan.make(for: Self.enterprise, served: Self.operator23)
        #expect(enterpriseOn23.objectVersion == nil)
        #expect(enterpriseOn23.problem?.contains("no longer serves EmqxEnterprise") == true)

        // 3.0: no Rebalance resource; until the EMQX-API actuator is wired, alert-only with the reason.
        let on30 = ClusterPlan.make(for: Self.emqx, served: Self.operator30)
        #expect(on30.acting.alertOnlyReason?.hasPrefix("EMQX Operator 3.0 has no Rebalance resource; ") == true)
        #expect(ClusterPlan.make(for: Self.emqx, served: Self.operator30, direct: .available).acting == .emqxAPI)
        #expect(
            ClusterPlan.make(for: Self.emqx, served: Self.operator22, direct: .available).acting == .rebalanceResource
        )
    }

    @Test func oneLinePerCluster() {
        let plan = ClusterPlan.make(for: Self.emqx, served: Self.operator23)
        #expect(
            plan.line(emqxVersions: ["5.10.1"], sources: ["status"])
                == "default/emqx (EMQX): EMQX Operator 2.3 (apps.emqx.io/v2), EMQX 5.10.1, source status, creates apps.emqx.io/v2beta1 Rebalances"
        )
        let unreadable = ClusterPlan.make(for: Self.enterprise, served: Self.operator30)
        #expect(
            unreadable.line(emqxVersions: [], sources: ["prometheus"]).contains(
                "EmqxEnterprise not readable: EMQX Operator 3.0 no longer serves EmqxEnterprise"
            )
        )
    }
}
