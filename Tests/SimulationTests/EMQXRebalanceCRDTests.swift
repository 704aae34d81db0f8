import AutorebalancerCore
import Foundation
import Simulation
import Testing
import Yams

/// The agent's own CRD (deploy/crds) as the simulated API server enforces it, over real HTTP.
@Suite struct EMQXRebalanceCRDTests {
    static let path = "/apis/autorebalancer.emqx.io/v1alpha1/namespaces/emqx/emqxrebalances"

    static func record(
        _ name: String,
        spec: KubernetesJSON = ["cluster": "emqx", "strategy": ["connEvictRate": 10]]
    ) -> KubernetesJSON {
        [
            "apiVersion": "autorebalancer.emqx.io/v1alpha1", "kind": "EMQXRebalance",
            "metadata": ["name": .string(name)], "spec": spec,
        ]
    }

    @Test func shippedManifestIsTheTextTheAgentEnforces() throws {
        let file = KubernetesFixtures.packageRoot.appendingPathComponent(
            "deploy/crds/emqxrebalances.autorebalancer.emqx.io.yaml"
        )
        let text = try String(contentsOf: file, encoding: .utf8)
        let body = try #require(text.range(of: "apiVersion:")).lowerBound
        #expect(String(text[body...]) == EMQXRebalanceDefinition.yaml + "\n")
    }

    @Test func definitionNamesGroupVersionScopeAndPrinterColumns() throws {
        let document = try #require(try Yams.load(yaml: EMQXRebalanceDefinition.yaml) as? [String: Any])
        let spec = try #require(document["spec"] as? [String: Any])
        #expect(spec["group"] as? String == EMQXRebalance.group)
        #expect(spec["scope"] as? String == "Namespaced")
        #expect((spec["names"] as? [String: Any])?["plural"] as? String == EMQXRebalance.resource)
        let version = try #require((spec["versions"] as? [[String: Any]])?.first)
        #expect(version["name"] as? String == EMQXRebalance.version)
        let columns = (version["additionalPrinterColumns"] as? [[String: Any]] ?? []).filter { $0["priority"] == nil }
            .compactMap { $0["name"] as? String }
        #expect(columns == ["Phase", "Cluster", "Rule", "Age"])
        // The phases the schema allows are exactly the model's.
        let schema = try #require((version["schema"] as? [String: Any])?["openAPIV3Schema"] as? [String: Any])
        let status = try #require((schema["properties"] as? [String: Any])?["status"] as? [String: Any])
        let phase = try #require((status["properties"] as? [String: Any])?["phase"] as? [String: Any])
        #expect(phase["enum"] as? [String] == EMQXRebalancePhase.allCases.map(\.rawValue))
    }

    @Test func aValidRecordIsStoredWithoutStatusAndAnUnknownFieldIsPruned() async throws {
        try await withSimulatedAPI { api, client in
            var body = Self.record(
                "manual-1",
                spec: ["cluster": "emqx", "strategy": ["connEvictRate": 10, "speed": "max"]]
            )
            body["status"] = ["phase": "Completed"]
            let created = try await client.send("POST", Self.path, body)
            #expect(created.status == 201)
            #expect(created.header("Warning")?.contains("unknown field \\\"spec.strategy.speed\\\"") == true)
            let stored = try #require(api.object(.emqxRebalances, namespace: "emqx", name: "manual-1"))
            #expect(stored["status"] == nil)
            #expect(stored.value(atPath: "spec.strategy.speed") == nil)
            let decoded = try stored.decode(EMQXRebalance.self)
            #expect(decoded.spec.strategy.connEvictRate == 10)
            #expect(decoded.metadata.generation == 1)
        }
    }

    @Test func anInvalidRecordIsRejectedNamingEveryField() async throws {
        try await withSimulatedAPI { _, client in
            let answer = try await client.send(
                "POST",
                Self.path,
                Self.record(
                    "bad",
                    spec: [
                        "cluster": "", "nodes": [1],
                        "strategy": ["connEvictRate": 0, "relConnThreshold": "fast", "waitTakeover": 3_000_000_000],
                    ]
                )
            )
            #expect(answer.status == 422)
            let fields = Set(
                (answer.body.value(atPath: "details.causes")?.arrayValue ?? []).compactMap { $0["field"]?.stringValue }
            )
            #expect(
                fields == [
                    "spec.cluster", "spec.nodes[0]", "spec.strategy.connEvictRate", "spec.strategy.relConnThreshold",
                    "spec.strategy.waitTakeover",
                ]
            )
            let missing = try await client.send("POST", Self.path, Self.record("bare", spec: ["cluster": "emqx"]))
            #expect(missing.status == 422)
            #expect(missing.body["message"]?.stringValue?.contains("spec.strategy: Required value") == true)
        }
    }

    @Test func theSpecIsImmutableButMetadataIsNot() async throws {
        try await withSimulatedAPI { api, client in
            _ = try await client.send("POST", Self.path, Self.record("run"))
            let edit = try await client.send(
                "PATCH",
                Self.path + "/run",
                ["spec": ["strategy": ["connEvictRate": 99]]],
                contentType: "application/merge-patch+json"
            )
            #expect(edit.status == 422)
            #expect(edit.body["message"]?.stringValue?.contains("spec is immutable") == true)
            let labels = try await client.send(
                "PATCH",
                Self.path + "/run",
                ["metadata": ["labels": ["team": "mqtt"]]],
                contentType: "application/merge-patch+json"
            )
            #expect(labels.status == 200)
            #expect(
                api.object(.emqxRebalances, namespace: "emqx", name: "run")?.value(
                    atPath: "spec.strategy.connEvictRate"
                ) == 10
            )
        }
    }

    @Test func statusIsWrittenOnlyThroughTheStatusSubresourceAndValidated() async throws {
        try await withSimulatedAPI { api, client in
            _ = try await client.send("POST", Self.path, Self.record("run"))
            let ignored = try await client.send(
                "PATCH",
                Self.path + "/run",
                ["status": ["phase": "Running"]],
                contentType: "application/merge-patch+json"
            )
            #expect(ignored.status == 200)
            #expect(api.object(.emqxRebalances, namespace: "emqx", name: "run")?["status"] == nil)

            let written = try await client.send(
                "PATCH",
                Self.path + "/run/status",
                [
                    "status": [
                        "phase": "Running", "coordinator": "emqx@10.0.0.1", "startedTime": "2026-11-20T10:22:00Z",
                    ], "spec": ["cluster": "other"],
                ],
                contentType: "application/merge-patch+json"
            )
            #expect(written.status == 200)
            let stored = try #require(api.object(.emqxRebalances, namespace: "emqx", name: "run"))
            #expect(stored.value(atPath: "status.phase") == "Running")
            #expect(stored.value(atPath: "spec.cluster") == "emqx")  // the status write leaves the spec alone
            #expect(stored.value(atPath: "metadata.generation") == 1)

            let bogus = try await client.send(
                "PATCH",
                Self.path + "/run/status",
                ["status": ["phase": "Done", "completedTime": "yesterday"]],
                contentType: "application/merge-patch+json"
            )
            #expect(bogus.status == 422)
            let fields = Set(
                (bogus.body.value(atPath: "details.causes")?.arrayValue ?? []).compactMap { $0["field"]?.stringValue }
            )
            #expect(fields == ["status.phase", "status.completedTime"])
        }
    }

    @Test func discoveryServesTheGroup() async throws {
        try await withSimulatedAPI { _, client in
            let list = try await client.send("GET", "/apis/autorebalancer.emqx.io/v1alpha1")
            let names = (list.body["resources"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            #expect(names.contains("emqxrebalances") && names.contains("emqxrebalances/status"))
        }
    }
}
