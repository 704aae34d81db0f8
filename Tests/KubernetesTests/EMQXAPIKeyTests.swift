import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Logging
import Simulation
import Synchronization
import Testing

@testable import Kubernetes

/// Where the agent's EMQX API key comes from: an Operator 3.0 `EMQXAPIKey` and its Secret over the Kubernetes API,
/// read when a call needs it and read again after EMQX refuses it.
@Suite struct EMQXAPIKeyTests {
    struct SecretObject: Codable {
        var apiVersion = "v1"
        var kind = "Secret"
        var metadata: ObjectMeta
        var data: [String: String]
    }

    static func apiKey(role: String? = nil, ready: Bool = true) -> EMQXAPIKey {
        EMQXAPIKey(
            metadata: ObjectMeta(name: "agent", namespace: "emqx"),
            spec: .init(emqxRef: .init(name: "emqx"), secretRef: .init(name: "agent-key"), role: role),
            status: .init(conditions: [StatusCondition(type: "Ready", status: ready ? "True" : "False")])
        )
    }

    static func secret(key: String, secret: String) -> SecretObject {
        SecretObject(
            metadata: ObjectMeta(name: "agent-key", namespace: "emqx"),
            data: [
                "apiKey": Data(key.utf8).base64EncodedString(), "apiSecret": Data(secret.utf8).base64EncodedString(),
            ]
        )
    }

    @Test func anEMQXAPIKeysSecretIsTheCredentialAndProblemsNameWhatToFix() async throws {
        let server = SimulatedKubernetesAPI(logger: Logger(label: "api-key-api"))
        server.serveFreeForm(.emqxAPIKeys)
        server.serveFreeForm(.secrets)
        _ = try server.putObject(.emqxAPIKeys, namespace: "emqx", Self.apiKey())
        _ = try server.putObject(.secrets, namespace: "emqx", Self.secret(key: "agent", secret: "s3cret"))
        try await KubernetesPermissionTests.withRunningClient(server) { client in
            let credential = try await client.credential(namespace: "emqx", keyName: "agent").get()
            #expect(credential == EMQXAPICredential(key: "agent", secret: "s3cret"))
            #expect(
                await client.credential(namespace: "emqx", keyName: "missing").failureText?.hasPrefix(
                    "cannot read EMQXAPIKey emqx/missing:"
                ) == true
            )
            _ = try server.putObject(.emqxAPIKeys, namespace: "emqx", Self.apiKey(role: "Viewer"))
            #expect(
                await client.credential(namespace: "emqx", keyName: "agent").failureText?.contains("role Viewer")
                    == true
            )
            _ = try server.putObject(.emqxAPIKeys, namespace: "emqx", Self.apiKey(ready: false))
            #expect(
                await client.credential(namespace: "emqx", keyName: "agent").failureText?.contains("not Ready yet")
                    == true
            )
            _ = try server.putObject(.emqxAPIKeys, namespace: "emqx", Self.apiKey())
            server.removeObject(.secrets, namespace: "emqx", name: "agent-key")
            let missing = try #require(await client.credential(namespace: "emqx", keyName: "agent").failureText)
            #expect(missing.hasPrefix("cannot read Secret emqx/agent-key of EMQXAPIKey agent:"))
            #expect(!missing.contains("s3cret"))
        }
        // Exactly the permissions the overlay for Operator 3.0 grants for it.
        #expect(server.permissionsUsed == KubernetesPermission.emqxAPIKey)
    }

    /// A key is read once and kept; after a 401 (rotated by the operator) the next call reads it again.
    @Test func aRefusedKeyIsReadAgainOnTheNextCall() async throws {
        let cluster = SimulatedEMQXCluster(
            configuration: SimulatedEMQXConfiguration(
                name: "emqx",
                namespace: "emqx",
                kind: .emqx,
                nodes: [SimulatedNodeSpec(liveConnections: 10)],
                seed: 3,
                credentials: EMQXAPICredentials(key: "agent", secret: "new-secret")
            )
        )
        try await cluster.start()
        let reads = Mutex<[String]>(["old-secret", "new-secret"])
        let readCount = Mutex(0)
        let api = KeyedEMQXRebalanceAPI(
            httpClient: .shared,
            baseURLs: cluster.nodes.compactMap { cluster.endpoint(of: $0.name)?.absoluteString },
            key: {
                readCount.withLock { $0 += 1 }
                let secret = reads.withLock { $0.count > 1 ? $0.removeFirst() : $0[0] }
                return .success(EMQXAPICredential(key: "agent", secret: secret))
            }
        )
        do {
            await #expect(throws: LoadRebalance.Failure.self) { _ = try await api.globalStatus() }
            #expect(try await api.globalStatus().isIdle)
            #expect(try await api.nodes().count == 1)
            #expect(readCount.withLock { $0 } == 2, "read, refused, read again, then kept")
            let unreadable = KeyedEMQXRebalanceAPI(
                httpClient: .shared,
                baseURLs: [],
                key: { .failure(.init("cannot read /x/apiKey")) }
            )
            do {
                _ = try await unreadable.globalStatus()
                Issue.record("a call without a readable key was made")
            } catch {
                #expect(error == .noCredentials(reason: "cannot read /x/apiKey"))
                #expect(error.provesNothingStarted)
            }
            await cluster.stop()
        } catch {
            await cluster.stop()
            throw error
        }
    }
}

extension Result where Failure == CredentialProblem {
    var failureText: String? {
        if case .failure(let problem) = self { return problem.description }
        return nil
    }
}
