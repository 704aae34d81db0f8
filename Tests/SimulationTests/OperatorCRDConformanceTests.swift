import AutorebalancerCore
import Foundation
import Logging
import Simulation
import Testing

/// What the simulated operator writes conforms to the operator's own schemas: the real 2.2.29 CRDs from
/// ../shared/fixtures/crds (`emqxes` v2beta1, `emqxenterprises` v1beta4; see SOURCE.md there) when present, and the
/// built-in v2 / v3beta1 schemas written from the Go types otherwise.
@Suite struct OperatorCRDConformanceTests {
    static let crds = KubernetesFixtures.packageRoot.deletingLastPathComponent().appendingPathComponent(
        "shared/fixtures/crds"
    )
    static var available: Bool {
        FileManager.default.fileExists(atPath: crds.appendingPathComponent("apps.emqx.io_emqxes.yaml").path)
    }

    static func schema(
        _ file: String,
        _ version: String,
        skipped: StructuralSchema.SkippedRules
    ) throws -> StructuralSchema {
        try StructuralSchema.load(
            crdYAML: try String(contentsOf: crds.appendingPathComponent(file), encoding: .utf8),
            version: version,
            skippingRules: skipped
        )
    }

    @Test(
        .enabled(if: Self.available, "../shared/fixtures/crds not found next to the package; real-CRD checks skipped")
    )
    func operator22StatusConformsToTheRealCRDs() async throws {
        let skipped = StructuralSchema.SkippedRules()
        let schemas = [
            "emqxes/v2beta1": try Self.schema("apps.emqx.io_emqxes.yaml", "v2beta1", skipped: skipped),
            "emqxenterprises/v1beta4": try Self.schema(
                "apps.emqx.io_emqxenterprises.yaml",
                "v1beta4",
                skipped: skipped
            ),
        ]
        // What cannot be checked here guards fields the simulation never writes: the CEL rules on the templates'
        // PodDisruptionBudget fields and the RE2-only patterns of the bootstrap API keys.
        #expect(!skipped.all.isEmpty)
        #expect(
            skipped.all.allSatisfy { $0.contains("Template.spec: rule") || $0.contains(".spec.bootstrapAPIKeys[].") },
            "\(skipped.all)"
        )
        let emqx5 = SimulatedEMQXCluster(
            configuration: emqx5Configuration([3000, 3000, 0]),
            logger: Logger(label: "crd-emqx5")
        )
        let emqx44 = SimulatedEMQXCluster(configuration: .seedScenario(), logger: Logger(label: "crd-emqx44"))
        try await emqx5.start()
        try await emqx44.start()
        let outcome: Result<Void, any Error>
        do {
            try await Self.check(schemas: schemas, clusters: [emqx5, emqx44])
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await emqx5.stop()
        await emqx44.stop()
        try outcome.get()
    }

    static func check(schemas: [String: StructuralSchema], clusters: [SimulatedEMQXCluster]) async throws {
        let (emqx5, emqx44) = (clusters[0], clusters[1])
        try await withSimulatedAPI(.init(schemas: schemas)) { api, _ in
            for (cluster, kind) in [(emqx5, EMQXBinding.Kind.emqx), (emqx44, .emqxEnterprise)] {
                let credentials = cluster.configuration.credentials
                api.addEMQX(
                    EMQXBinding(
                        kind: kind,
                        namespace: cluster.configuration.namespace,
                        name: cluster.configuration.name,
                        endpoints: cluster.endpoints,
                        username: credentials.key,
                        password: credentials.secret
                    )
                )
            }
            let operatorService = SimulatedEMQXOperator(
                api: api,
                clock: SimulationClock(speed: 1000),
                configuration: .init(emqxRefreshInterval: .zero),
                logger: Logger(label: "crd-operator")
            )
            await operatorService.reconcileOnce()
            #expect(api.schemaViolations.isEmpty, "\(api.schemaViolations)")
            // The real schema prunes what the Go types never write (`uptime` is `json:"-"`, `lastUpdateTime` is no
            // `metav1.Condition` field): the agent reads what a real API server would answer.
            let object = try #require(api.object(.emqxes, namespace: "mqtt", name: "emqx"))
            let node = try #require(object.value(atPath: "status.coreNodes")?.arrayValue?.first)
            #expect(node["uptime"] == nil)
            #expect(node["live_connections"] == 3000)
            #expect(
                object.value(atPath: "status.conditions")?.arrayValue?.allSatisfy { $0["lastUpdateTime"] == nil }
                    == true
            )
            #expect(
                try #require(api.object(.emqxEnterprises, namespace: "default", name: "emqx-ee")).value(
                    atPath: "status.emqxNodes"
                )?.arrayValue?.count == 4
            )
        }
    }

    @Test func theBuiltInSchemasRejectWhatTheGoTypesCannotWrite() async throws {
        try await withSimulatedAPI(.init(operatorGeneration: .v3_0)) { api, client in
            // v3beta1 always writes a node's counts and the replica numbers.
            api.putObject(
                .emqxesV3beta1,
                namespace: "mqtt",
                [
                    "metadata": ["name": "broken"], "spec": ["image": "emqx/emqx-enterprise:6.0.1"],
                    "status": [
                        "replicantReplicas": 1, "replicantNodes": [["name": "emqx@10.0.0.1", "status": "running"]],
                    ],
                ] as KubernetesJSON
            )
            let violations = api.schemaViolations
            #expect(violations.count == 1)
            #expect(violations.first?.contains("status.coreReplicas: Required value") == true)
            #expect(violations.first?.contains("status.replicantNodes[0].connections: Required value") == true)
            // A scale subresource write must be a count.
            api.putObject(
                .emqxesV3beta1,
                namespace: "mqtt",
                ["metadata": ["name": "ok"], "spec": ["image": "emqx/emqx-enterprise:6.0.1"]] as KubernetesJSON
            )
            let negative = try await client.send(
                "PATCH",
                "/apis/apps.emqx.io/v3beta1/namespaces/mqtt/emqxes/ok/scale",
                ["spec": ["replicas": -1]],
                contentType: "application/merge-patch+json"
            )
            #expect(negative.status == 422)
            #expect(api.schemaViolations.count == 1)
        }
        // Without a status, v2 requires nothing more than the image.
        try await withSimulatedAPI(.init(operatorGeneration: .v2_3)) { api, _ in
            api.putObject(
                .emqxesV2,
                namespace: "mqtt",
                ["metadata": ["name": "e"], "spec": ["coreTemplate": ["spec": ["replicas": "2"]]]] as KubernetesJSON
            )
            #expect(api.schemaViolations.first?.contains("spec.image: Required value") == true)
            #expect(api.schemaViolations.first?.contains("spec.coreTemplate.spec.replicas") == true)
        }
    }
}
