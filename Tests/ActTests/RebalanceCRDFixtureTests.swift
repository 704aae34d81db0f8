import AutorebalancerCore
import Foundation
import Kubernetes
import Testing
import Yams

@testable import Act

/// The operator's real CRDs, read from ../shared/fixtures when present (never copied into the repository).
enum CRDFixtures {
    static let directory: URL? = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                let crds = url.deletingLastPathComponent().appendingPathComponent("shared/fixtures/crds")
                return FileManager.default.fileExists(atPath: crds.path) ? crds : nil
            }
            url = url.deletingLastPathComponent()
        }
        return nil
    }()

    static var available: Bool { directory != nil }

    /// `spec.versions[name == version].schema.openAPIV3Schema` of a CRD file.
    static func schema(_ file: String, version: String) throws -> [String: Any] {
        let text = try String(contentsOf: directory!.appendingPathComponent(file), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let versions = try #require((document["spec"] as? [String: Any])?["versions"] as? [[String: Any]])
        let entry = try #require(versions.first { $0["name"] as? String == version })
        return try #require((entry["schema"] as? [String: Any])?["openAPIV3Schema"] as? [String: Any])
    }

    static func properties(_ schema: [String: Any], _ path: [String]) -> [String: Any]? {
        var node = schema
        for key in path {
            guard let next = (node["properties"] as? [String: Any])?[key] as? [String: Any] else { return nil }
            node = next
        }
        return node
    }
}

struct RebalanceCRDFixtureTests {
    /// Every field the agent writes in `spec` is declared by the served v2beta1 schema with the same JSON type, and
    /// every required field is present.
    @Test(.enabled(if: CRDFixtures.available, "../shared/fixtures/crds not found next to the package"))
    func createdSpecMatchesTheV2beta1Schema() throws {
        let schema = try CRDFixtures.schema("apps.emqx.io_rebalances.yaml", version: "v2beta1")
        var decision = Fixtures.decision()
        decision.strategy = RebalanceStrategy(
            connEvictRate: 10,
            sessEvictRate: 10,
            waitTakeover: 10,
            waitHealthCheck: 10,
            absConnThreshold: 100,
            absSessThreshold: 100,
            relConnThreshold: "1.1",
            relSessThreshold: "1.1"
        )
        let rebalance = try RebalanceFactory.make(decision, for: Fixtures.object())
        let json = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(rebalance)) as? [String: Any]
        )
        let spec = try #require(json["spec"] as? [String: Any])
        let specSchema = try #require(CRDFixtures.properties(schema, ["spec"]))
        for required in specSchema["required"] as? [String] ?? [] {
            #expect(spec[required] != nil, "spec.\(required) is required")
        }
        try check(spec, against: specSchema, path: "spec")
    }

    private func check(_ object: [String: Any], against schema: [String: Any], path: String) throws {
        let declared = schema["properties"] as? [String: Any] ?? [:]
        for (key, value) in object {
            let field = try #require(declared[key] as? [String: Any], "\(path).\(key) is not in the CRD schema")
            switch field["type"] as? String {
            case "string": #expect(value is String, "\(path).\(key) must be a string")
            case "integer": #expect(value is Int || value is NSNumber, "\(path).\(key) must be an integer")
            case "object":
                try check(try #require(value as? [String: Any]), against: field, path: "\(path).\(key)")
            default: break
            }
        }
    }

    /// The status fields the cluster reader relies on exist in the operator's EMQX and EmqxEnterprise schemas.
    @Test(.enabled(if: CRDFixtures.available, "../shared/fixtures/crds not found next to the package"))
    func statusFieldsTheReaderUsesExist() throws {
        let emqx = try CRDFixtures.schema("apps.emqx.io_emqxes.yaml", version: "v2beta1")
        let node = try #require(CRDFixtures.properties(emqx, ["status", "coreNodes"])?["items"] as? [String: Any])
        let nodeFields = Set((node["properties"] as? [String: Any] ?? [:]).keys)
        #expect(nodeFields.isSuperset(of: ["node", "node_status", "edition", "connections", "live_connections"]))
        #expect(CRDFixtures.properties(emqx, ["status", "coreNodesStatus", "updateRevision"]) != nil)
        #expect(CRDFixtures.properties(emqx, ["status", "replicantNodesStatus", "currentRevision"]) != nil)
        #expect(CRDFixtures.properties(emqx, ["status", "nodeEvacuationsStatus"]) != nil)
        #expect(CRDFixtures.properties(emqx, ["spec", "coreTemplate", "spec", "replicas"]) != nil)

        let enterprise = try CRDFixtures.schema("apps.emqx.io_emqxenterprises.yaml", version: "v1beta4")
        let eeNode = try #require(
            CRDFixtures.properties(enterprise, ["status", "emqxNodes"])?["items"] as? [String: Any]
        )
        let eeFields = Set((eeNode["properties"] as? [String: Any] ?? [:]).keys)
        #expect(eeFields.isSuperset(of: ["node", "node_status", "connections"]))
        #expect(!eeFields.contains("live_connections"))  // why 4.4 status serves session rules only
        #expect(CRDFixtures.properties(enterprise, ["status", "blueGreenUpdateStatus"]) != nil)
        #expect(CRDFixtures.properties(enterprise, ["spec", "replicas"]) != nil)
    }
}
