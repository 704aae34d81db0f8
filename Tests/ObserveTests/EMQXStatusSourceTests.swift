import AutorebalancerCore
import Foundation
import Observe
import Testing

/// The status metric source: per-node counts from the EMQX object's status, with their age.
struct EMQXStatusSourceTests {
    @Test func emqxEnterprise44ServesSessionsOnlyAndTheConditionTime() {
        let resource = EmqxEnterpriseResource(
            metadata: ObjectMeta(name: "emqx-ee", namespace: "default"),
            spec: .init(replicas: 2),
            status: .init(
                conditions: [StatusCondition(type: "Running", status: "True", lastUpdateTime: "2026-11-20T10:21:40Z")],
                emqxNodes: [.init(node: "emqx-ee@a", connections: 3333), .init(node: "emqx-ee@b", connections: 3000)],
                replicas: 2
            )
        )
        let observation = EMQXStatusSource.observation(
            of: .emqxEnterprise(resource),
            readAt: KubernetesTime.parse("2026-11-20T10:22:00Z")!,
            assumedRefreshAge: .seconds(30)
        )
        #expect(observation.nodes.first?.sessions == 3333)
        #expect(observation.nodes.first?.liveConnections == nil)
        #expect(observation.nodes.first?.observedAt == KubernetesTime.parse("2026-11-20T10:21:40Z"))
        #expect(observation.warnings.contains { $0.contains("serves session rules only") })
        #expect(EMQXStatusSource.compatibilityNote(for: .emqxEnterprise) != nil)
        #expect(EMQXStatusSource.compatibilityNote(for: .emqx) == nil)
    }

    @Test func ageDefaultsToTheAssumedRefresh() {
        let resource = EMQXResource(
            metadata: ObjectMeta(name: "emqx", namespace: "default"),
            spec: .init(coreTemplate: .init(replicas: 2)),
            status: .init(
                conditions: [StatusCondition(type: "Ready", status: "True")],
                coreNodes: (0..<2).map {
                    EMQXResource.Node(
                        node: "emqx@core-\($0)",
                        role: "core",
                        edition: "Enterprise",
                        connections: 10,
                        liveConnections: 9
                    )
                },
                coreNodesStatus: .init(replicas: 2, currentRevision: "a", updateRevision: "a")
            )
        )
        let readAt = Date(timeIntervalSince1970: 2_000_000_000)
        let observation = EMQXStatusSource.observation(
            of: .emqx(resource),
            readAt: readAt,
            assumedRefreshAge: .seconds(30)
        )
        #expect(observation.nodes.map(\.liveConnections) == [9, 9])
        #expect(observation.nodes.allSatisfy { $0.observedAt == readAt.addingTimeInterval(-30) })
        #expect(observation.warnings.isEmpty)
    }
}
