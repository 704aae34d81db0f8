import AutorebalancerCore
import Foundation
import Testing

struct ClusterReadingTests {
    static func emqx(
        conditions: [StatusCondition] = [StatusCondition(type: "Ready", status: "True")],
        replicants: [EMQXResource.Node] = [],
        coreRevision: (String, String) = ("a", "a"),
        coreReplicas: (spec: Int, status: Int) = (3, 3),
        evacuations: [EMQXResource.NodeEvacuationStatus] = [],
        edition: String = "Enterprise"
    ) -> EMQXResource {
        let cores = (0..<3).map {
            EMQXResource.Node(
                node: "emqx@emqx-core-\($0)",
                role: "core",
                edition: edition,
                connections: 100 * $0,
                liveConnections: 90 * $0
            )
        }
        return EMQXResource(
            metadata: ObjectMeta(name: "emqx", namespace: "default"),
            spec: .init(coreTemplate: .init(replicas: coreReplicas.spec)),
            status: .init(
                conditions: conditions,
                coreNodes: cores,
                replicantNodes: replicants,
                coreNodesStatus: .init(
                    replicas: coreReplicas.status,
                    currentRevision: coreRevision.0,
                    updateRevision: coreRevision.1
                ),
                nodeEvacuationsStatus: evacuations
            )
        )
    }

    @Test func readyEnterpriseCoresOnly() {
        let reading = ClusterReading.read(.emqx(Self.emqx()))
        #expect(
            reading.facts
                == ClusterFacts(
                    ready: true,
                    upgrading: false,
                    evacuating: false,
                    scalingIn: false,
                    enterprise: true,
                    nodesPending: NodesPending(wanted: 3, running: 3, role: .core)
                )
        )
        #expect(reading.expectedNodes.map(\.name) == ["emqx@emqx-core-0", "emqx@emqx-core-1", "emqx@emqx-core-2"])
        #expect(reading.expectedNodes.allSatisfy { $0.role == .core })
        // `connections` in status counts sessions; `live_connections` counts connections.
        #expect(reading.nodes[2].sessions == 200)
        #expect(reading.nodes[2].liveConnections == 180)
    }

    @Test func replicantsAreTheRebalancedSet() {
        let reading = ClusterReading.read(
            .emqx(Self.emqx(replicants: [EMQXResource.Node(node: "emqx@10.0.0.9", role: "replicant", connections: 5)]))
        )
        #expect(reading.expectedNodes == [ExpectedNode(name: "emqx@10.0.0.9", role: .replicant)])
        #expect(reading.nodes.first?.liveConnections == nil)  // EMQX < 5.1: unknown, not zero
    }

    @Test func upgradeEvacuationScaleInAndEdition() {
        #expect(ClusterReading.read(.emqx(Self.emqx(conditions: []))).facts.ready == false)
        #expect(ClusterReading.read(.emqx(Self.emqx(coreRevision: ("a", "b")))).facts.upgrading == true)
        let evacuating = ClusterReading.read(
            .emqx(Self.emqx(evacuations: [.init(node: "emqx@emqx-core-0", state: "evicting_conns")]))
        ).facts
        // An evacuation is its own fact (3.0 evacuates on scale-in too), not an upgrade.
        #expect(evacuating.evacuating == true && evacuating.upgrading == false)
        let shrinking = ClusterReading.read(.emqx(Self.emqx(coreReplicas: (2, 3))))
        #expect(shrinking.facts.scalingIn == true)
        #expect(shrinking.notes.contains { $0.contains("spec 2 < status 3") })
        #expect(ClusterReading.read(.emqx(Self.emqx(edition: "Opensource"))).facts.enterprise == false)
    }

    @Test func emqxEnterprise44() {
        let resource = EmqxEnterpriseResource(
            metadata: ObjectMeta(name: "emqx-ee", namespace: "default"),
            spec: .init(replicas: 4),
            status: .init(
                conditions: [StatusCondition(type: "Running", status: "True", lastUpdateTime: "2026-11-20T10:21:40Z")],
                emqxNodes: [
                    .init(node: "emqx-ee@a", connections: 3333),
                    .init(node: "emqx-ee@b", nodeStatus: "Stopped", connections: 0),
                ],
                replicas: 4
            )
        )
        let reading = ClusterReading.read(.emqxEnterprise(resource))
        #expect(reading.facts.ready == true)
        #expect(reading.facts.enterprise == true)
        #expect(reading.facts.upgrading == false)
        #expect(reading.facts.scalingIn == true)  // a stopped node
        #expect(reading.nodes.first?.sessions == 3333)
        #expect(reading.nodes.first?.liveConnections == nil)  // the 4.4 status has no live-connection count
    }
}
