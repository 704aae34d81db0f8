import AutorebalancerCore
import Foundation
import Testing

/// Credentials for the EMQX API from an Operator 3.0 `EMQXAPIKey`'s Secret or a mounted Secret, with errors that name
/// what is missing and never a value.
@Suite struct EMQXAPIKeyCredentialsTests {
    static let keyJSON = """
        {"apiVersion":"apps.emqx.io/v3beta1","kind":"EMQXAPIKey","metadata":{"name":"autorebalancer","namespace":"emqx"},
         "spec":{"emqxRef":{"name":"emqx"},"secretRef":{"name":"autorebalancer-api-key"}},
         "status":{"conditions":[{"type":"Ready","status":"True"}]}}
        """

    @Test func aReadyAdministratorKeyIsUsableAndOthersSayWhy() throws {
        var key = try JSONDecoder().decode(EMQXAPIKey.self, from: Data(Self.keyJSON.utf8))
        #expect(key.unusableReason == nil)
        #expect(key.spec.secretRef?.name == "autorebalancer-api-key")
        key.spec.role = "Viewer"
        #expect(key.unusableReason?.contains("role Administrator") == true)
        key.spec.role = nil
        key.status = .init(conditions: [StatusCondition(type: "Issuing", status: "True")])
        #expect(key.unusableReason?.contains("not Ready") == true)
    }

    @Test func secretDataDecodesAndProblemsNameTheKeyNotTheValue() throws {
        let data = [
            "apiKey": Data("agent-key".utf8).base64EncodedString(),
            "apiSecret": Data("s3cret\n".utf8).base64EncodedString(),
        ]
        #expect(
            try EMQXAPICredential.fromSecretData(data, secretName: "k").get()
                == EMQXAPICredential(key: "agent-key", secret: "s3cret")
        )
        guard
            case .failure(let missing) = EMQXAPICredential.fromSecretData(["apiKey": data["apiKey"]!], secretName: "k")
        else {
            Issue.record("accepted a Secret without apiSecret")
            return
        }
        #expect(missing.description == "Secret k has no data key apiSecret")
        guard
            case .failure(let garbage) = EMQXAPICredential.fromSecretData(
                ["apiKey": "%%%", "apiSecret": "x"],
                secretName: "k"
            )
        else {
            Issue.record("accepted garbage")
            return
        }
        #expect(!garbage.description.contains("%%%"))
        #expect(!EMQXAPICredential(key: "agent-key", secret: "s3cret").description.contains("s3cret"))
    }

    @Test func aMountedSecretIsReadFromItsTwoFiles() throws {
        let files = ["/etc/emqx-api/apiKey": "agent-key\n", "/etc/emqx-api/apiSecret": "s3cret"]
        let read: (String) throws -> String = { path in
            guard let text = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return text
        }
        #expect(
            try EMQXAPICredential.fromMountedSecret(directory: "/etc/emqx-api", read: read).get()
                == EMQXAPICredential(key: "agent-key", secret: "s3cret")
        )
        guard case .failure(let problem) = EMQXAPICredential.fromMountedSecret(directory: "/etc/other", read: read)
        else {
            Issue.record("read a missing mount")
            return
        }
        #expect(problem.description.hasPrefix("cannot read /etc/other/apiKey"))
    }
}
