import AutorebalancerCore
import Foundation
import Logging
import Testing

@testable import Kubernetes
@testable import Simulation

/// Discovery with the live client against the simulated API server: the version each generation serves is the one
/// read, and an operator upgraded under the agent (the chosen version now answers 404) is followed after one
/// rediscovery.
@Suite struct OperatorDiscoveryTests {
    static func withClient<T: Sendable>(
        _ generation: OperatorGeneration,
        _ body: @Sendable (SimulatedKubernetesAPI, HTTPKubernetesClient) async throws -> T
    ) async throws -> T {
        let api = SimulatedKubernetesAPI(
            configuration: .init(operatorGeneration: generation),
            logger: Logger(label: "discovery-api")
        )
        return try await api.withRunning { api in
            let client = try HTTPKubernetesClient(
                configuration: .init(
                    server: try await api.baseURL().absoluteString,
                    namespace: "mqtt",
                    tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken),
                    requestTimeout: .seconds(10)
                ),
                logger: Logger(label: "discovery-client")
            )
            do {
                let result = try await body(api, client)
                try await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    static let cluster = ClusterReference(namespace: "mqtt", name: "emqx", kind: .emqx)

    @Test(arguments: [(OperatorGeneration.v2_2, EMQXObjectVersion.v2beta1), (.v2_3, .v2), (.v3_0, .v3beta1)])
    func eachGenerationIsDiscoveredAndItsObjectReadAtItsVersion(
        generation: OperatorGeneration,
        version: EMQXObjectVersion
    ) async throws {
        try await Self.withClient(generation) { api, client in
            api.addEMQX(
                EMQXBinding(kind: .emqx, namespace: "mqtt", name: "emqx", endpoints: [String: URL](), replicas: 2)
            )
            let discovery = OperatorDiscovery(api: client)
            let served = try await discovery.served()
            #expect(served.generation == generation)
            let object = try await discovery.object(of: Self.cluster)
            #expect(object.version == version)
            #expect(object.metadata.name == "emqx")
            #expect(
                try await discovery.clusters(.emqx, namespace: "mqtt", matchLabels: ["apps.emqx.io/instance": "emqx"])
                    == [Self.cluster]
            )
            #expect(try await client.emqxScale(version, namespace: "mqtt", name: "emqx").spec?.replicas == 0)
        }
    }

    @Test func anOperatorUpgradedUnderTheAgentIsFollowedAfterOne404() async throws {
        try await Self.withClient(.v2_2) { api, client async throws -> Void in
            api.addEMQX(EMQXBinding(kind: .emqx, namespace: "mqtt", name: "emqx", endpoints: [String: URL]()))
            let discovery = OperatorDiscovery(api: client)
            #expect(try await discovery.object(of: Self.cluster).version == .v2beta1)
            api.upgradeOperator(to: .v3_0)
            // The cached choice (v2beta1) answers 404; discovery runs again and the object is read as v3beta1.
            #expect(try await discovery.object(of: Self.cluster).version == .v3beta1)
            #expect(try await discovery.served().generation == .v3_0)
            // A missing object stays a 404 after the one rediscovery.
            let missing = await #expect(throws: KubernetesError.self) {
                try await discovery.object(of: ClusterReference(namespace: "mqtt", name: "gone", kind: .emqx))
            }
            #expect(missing?.code == .notFound)
            // A kind the generation does not serve says why.
            let enterprise = await #expect(throws: KubernetesError.self) {
                try await discovery.object(
                    of: ClusterReference(namespace: "mqtt", name: "emqx-ee", kind: .emqxEnterprise)
                )
            }
            #expect(enterprise?.detail.contains("EMQX Operator 3.0 no longer serves EmqxEnterprise") == true)
        }
    }

    /// No EMQX Operator installed: none of its group versions is served.
    @Test func noOperatorAtAll() async throws {
        try await Self.withClient(.v2_2) { api, client in
            api.stopServing(groupVersion: "apps.emqx.io/v2beta1")
            api.stopServing(groupVersion: "apps.emqx.io/v1beta4")
            let served = try await OperatorDiscovery.discover(client)
            #expect(served == .none)
            #expect(
                ClusterPlan.make(for: Self.cluster, served: served).problem?.contains("does not serve apps.emqx.io")
                    == true
            )
        }
    }
}
