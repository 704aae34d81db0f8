import Foundation
import Simulation
import Testing
import Yams

/// The real Rebalance CRD, read from ../shared/fixtures when the repository sits beside it.
enum KubernetesFixtures {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/"
            && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path)
        {
            url = url.deletingLastPathComponent()
        }
        return url
    }()
    static let rebalanceCRD = packageRoot.deletingLastPathComponent().appendingPathComponent(
        "shared/fixtures/crds/apps.emqx.io_rebalances.yaml"
    )
    static var available: Bool { FileManager.default.fileExists(atPath: rebalanceCRD.path) }
}

/// A small structural-schema walker, independent of the simulation's hand-written admission: prunes unknown fields,
/// applies defaults, checks types, `required`, `minimum` and the int32 format, the way the API server treats a CRD's
/// `openAPIV3Schema`.
struct SchemaWalker {
    indirect enum Schema {
        case node(
            type: String?,
            properties: [String: Schema],
            required: [String],
            minimum: Int64?,
            format: String?,
            defaultValue: KubernetesJSON?
        )
    }

    let root: Schema

    init(crdYAML: String, version: String) throws {
        let document = try #require(try Yams.load(yaml: crdYAML) as? [String: Any])
        let versions = try #require((document["spec"] as? [String: Any])?["versions"] as? [[String: Any]])
        let entry = try #require(versions.first { $0["name"] as? String == version })
        let schema = try #require((entry["schema"] as? [String: Any])?["openAPIV3Schema"] as? [String: Any])
        root = Self.parse(schema)
    }

    static func parse(_ node: [String: Any]) -> Schema {
        let properties = (node["properties"] as? [String: Any] ?? [:]).compactMapValues {
            ($0 as? [String: Any]).map(parse)
        }
        return .node(
            type: node["type"] as? String,
            properties: properties,
            required: node["required"] as? [String] ?? [],
            minimum: (node["minimum"] as? Int).map(Int64.init),
            format: node["format"] as? String,
            defaultValue: node["default"].flatMap(jsonValue)
        )
    }

    static func jsonValue(_ any: Any) -> KubernetesJSON? {
        switch any {
        case let value as Int: return .integer(Int64(value))
        case let value as String: return .string(value)
        case let value as Bool: return .bool(value)
        case let value as Double: return .number(value)
        default: return nil
        }
    }

    /// The pruned, defaulted object and the paths with errors.
    func walk(_ value: KubernetesJSON) -> (object: KubernetesJSON, errorPaths: Set<String>) {
        var errors = Set<String>()
        let result = walk(value, root, path: "", errors: &errors)
        return (result, errors)
    }

    private func walk(
        _ value: KubernetesJSON,
        _ schema: Schema,
        path: String,
        errors: inout Set<String>
    ) -> KubernetesJSON {
        guard case .node(let type, let properties, let required, let minimum, let format, _) = schema else {
            return value
        }
        switch type {
        case "object":
            guard case .object(var object) = value else {
                errors.insert(path)
                return value
            }
            if properties.isEmpty { return value }  // e.g. metadata: not pruned here
            for key in object.keys where properties[key] == nil { object.removeValue(forKey: key) }
            for (key, child) in properties {
                if case .node(_, _, _, _, _, let defaultValue?) = child, object[key] == nil {
                    object[key] = defaultValue
                }
            }
            for key in required where object[key] == nil { errors.insert(join(path, key)) }
            for (key, child) in properties {
                if let member = object[key] {
                    object[key] = walk(member, child, path: join(path, key), errors: &errors)
                }
            }
            return .object(object)
        case "integer":
            let number: Int64?
            switch value {
            case .integer(let int): number = int
            case .number(let double) where double.rounded() == double: number = Int64(double)
            default: number = nil
            }
            guard let number else {
                errors.insert(path)
                return value
            }
            if let minimum, number < minimum { errors.insert(path) }
            if format == "int32", number > Int64(Int32.max) || number < Int64(Int32.min) { errors.insert(path) }
            return value
        case "string":
            if case .string = value {} else { errors.insert(path) }
            return value
        default:
            return value
        }
    }

    private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}

@Suite struct KubernetesValidationTests {
    static func doc(_ spec: KubernetesJSON?) -> KubernetesJSON {
        var object: KubernetesJSON = [
            "apiVersion": "apps.emqx.io/v2beta1", "kind": "Rebalance", "metadata": ["name": "rb"],
        ]
        if let spec { object["spec"] = spec }
        return object
    }

    static let corpus: [(String, KubernetesJSON)] = [
        ("minimal", doc(["instanceName": "emqx-ee", "rebalanceStrategy": ["connEvictRate": 10]])),
        (
            "seed strategy",
            doc([
                "instanceKind": "EmqxEnterprise", "instanceName": "emqx-ee",
                "rebalanceStrategy": [
                    "connEvictRate": 10, "sessEvictRate": 10, "waitTakeover": 10, "waitHealthCheck": 10,
                    "absConnThreshold": 100,
                    "absSessThreshold": 100, "relConnThreshold": "1.1", "relSessThreshold": "1.1",
                ],
            ])
        ),
        ("no spec", doc(nil)),
        ("rate 1", doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": 1]])),
        ("rate as whole float", doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": 2.0]])),
        (
            "rel below one passes the schema",
            doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": 5, "relConnThreshold": "0.9"]])
        ),
        (
            "rel not a float passes the schema",
            doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": 5, "relSessThreshold": "abc"]])
        ),
        (
            "unknown fields",
            doc(["instanceName": "e", "extra": 1, "rebalanceStrategy": ["connEvictRate": 5, "bogus": "x"]])
        ),
        ("rate 0", doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": 0]])),
        ("rate negative", doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": -5]])),
        ("rate string", doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": "10"]])),
        ("rate fraction", doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": 1.5]])),
        ("rate missing", doc(["instanceName": "e", "rebalanceStrategy": ["sessEvictRate": 5]])),
        ("name missing", doc(["rebalanceStrategy": ["connEvictRate": 5]])),
        ("strategy missing", doc(["instanceName": "e"])),
        ("strategy not an object", doc(["instanceName": "e", "rebalanceStrategy": "fast"])),
        ("spec not an object", doc("spec")),
        ("name not a string", doc(["instanceName": 5, "rebalanceStrategy": ["connEvictRate": 5]])),
        (
            "kind not a string",
            doc(["instanceKind": 4, "instanceName": "e", "rebalanceStrategy": ["connEvictRate": 5]])
        ),
        (
            "rel as number",
            doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": 5, "relConnThreshold": 1.1]])
        ),
        ("sess string", doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": 5, "sessEvictRate": "x"]])),
        (
            "wait beyond int32",
            doc(["instanceName": "e", "rebalanceStrategy": ["connEvictRate": 5, "waitTakeover": 3_000_000_000]])
        ),
        (
            "everything wrong",
            doc(["instanceKind": true, "rebalanceStrategy": ["connEvictRate": 0, "absConnThreshold": "many"]])
        ),
    ]

    @Test(
        .enabled(
            if: KubernetesFixtures.available,
            "../shared/fixtures/crds/apps.emqx.io_rebalances.yaml not found: the cross-check against the real CRD is skipped"
        )
    )
    func handWrittenValidationAgreesWithTheRealCRDSchema() throws {
        let walker = try SchemaWalker(
            crdYAML: String(contentsOf: KubernetesFixtures.rebalanceCRD, encoding: .utf8),
            version: "v2beta1"
        )
        var rejected = 0
        for (label, document) in Self.corpus {
            let expected = walker.walk(document)
            var admitted = document
            _ = RebalanceAdmission.pruneAndDefault(&admitted)
            let errors = RebalanceAdmission.schemaErrors(admitted)
            #expect(
                Set(errors.map(\.field)) == expected.errorPaths,
                "\(label): \(errors) vs \(expected.errorPaths.sorted())"
            )
            #expect(admitted == expected.object, "\(label): pruned/defaulted object differs")
            if !errors.isEmpty { rejected += 1 }
        }
        // The corpus exercises both sides.
        #expect(rejected >= 10 && rejected < Self.corpus.count)
    }

    @Test(arguments: [
        (
            ["connEvictRate": 0] as KubernetesJSON,
            #"Rebalance.apps.emqx.io "rb" is invalid: spec.rebalanceStrategy.connEvictRate: Invalid value: 0: spec.rebalanceStrategy.connEvictRate in body should be greater than or equal to 1"#
        ),
        (
            ["connEvictRate": "10"] as KubernetesJSON,
            #"Rebalance.apps.emqx.io "rb" is invalid: spec.rebalanceStrategy.connEvictRate: Invalid value: "string": spec.rebalanceStrategy.connEvictRate in body must be of type integer: "string""#
        ),
        (
            ["sessEvictRate": 5] as KubernetesJSON,
            #"Rebalance.apps.emqx.io "rb" is invalid: spec.rebalanceStrategy.connEvictRate: Required value"#
        ),
        (
            ["connEvictRate": 0, "relConnThreshold": 1.2] as KubernetesJSON,
            #"Rebalance.apps.emqx.io "rb" is invalid: [spec.rebalanceStrategy.connEvictRate: Invalid value: 0: spec.rebalanceStrategy.connEvictRate in body should be greater than or equal to 1, spec.rebalanceStrategy.relConnThreshold: Invalid value: "number": spec.rebalanceStrategy.relConnThreshold in body must be of type string: "number"]"#
        ),
    ])
    func invalidStrategiesAreAnswered422NamingTheField(strategy: KubernetesJSON, message: String) async throws {
        try await withSimulatedAPI { _, client in
            let answer = try await client.send(
                "POST",
                KubernetesFaultTests.path,
                rebalanceBody("rb", strategy: strategy)
            )
            #expect(answer.status == 422)
            #expect(answer.body["reason"] == "Invalid")
            #expect(answer.body["message"]?.stringValue == message)
            #expect(answer.body.value(atPath: "details.kind") == "Rebalance")
            #expect(answer.body.value(atPath: "details.causes")?.arrayValue?.isEmpty == false)
        }
    }

    @Test func missingNameAndBadRelThresholdAreRejected() async throws {
        try await withSimulatedAPI { _, client in
            var body = rebalanceBody("rb")
            body["spec"]?["instanceName"] = nil
            let noName = try await client.send("POST", KubernetesFaultTests.path, body)
            #expect(noName.status == 422)
            #expect(
                noName.body["message"] == #"Rebalance.apps.emqx.io "rb" is invalid: spec.instanceName: Required value"#
            )

            let webhook = try await client.send(
                "POST",
                KubernetesFaultTests.path,
                rebalanceBody("rb", strategy: ["connEvictRate": 5, "relConnThreshold": "1,1"])
            )
            #expect(webhook.status == 403)
            #expect(
                webhook.body["message"]
                    == #"admission webhook "validator.rebalance.emqx.io" denied the request: the field ".spec.rebalanceStrategy.relConnThreshold" must be float64"#
            )

            // Accepted, as by the real CRD and webhook; EMQX refuses it when the operator starts the rebalance.
            let low = try await client.send(
                "POST",
                KubernetesFaultTests.path,
                rebalanceBody("rb-low", strategy: ["connEvictRate": 5, "relConnThreshold": "1.0"])
            )
            #expect(low.status == 201)

            // No instanceKind: the CRD default.
            let defaulted = try await client.send(
                "POST",
                KubernetesFaultTests.path,
                rebalanceBody("rb-kind", kind: nil)
            )
            #expect(defaulted.body.value(atPath: "spec.instanceKind") == "EMQX")

            var badName = rebalanceBody("Not_Valid")
            badName["metadata"]?["name"] = "Not_Valid"
            let invalidName = try await client.send("POST", KubernetesFaultTests.path, badName)
            #expect(invalidName.status == 422)
            #expect(
                invalidName.body["message"]?.stringValue?.hasPrefix(
                    #"Rebalance.apps.emqx.io "Not_Valid" is invalid: metadata.name: Invalid value: "Not_Valid": a lowercase RFC 1123 subdomain"#
                ) == true
            )
        }
    }
}
