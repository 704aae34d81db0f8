import AutorebalancerCore
import Foundation

/// Reads an Operator 3.0 `EMQXAPIKey` and the Secret it names: where the agent's EMQX API key comes from when the
/// configuration says `emqxAPI.apiKey.emqxAPIKey`. A seam of its own, so the only Secret the agent reads is the one a
/// person named (RBAC: `emqxapikeys get`, `secrets get` on that Secret, granted by the Operator 3.0 overlay).
public protocol EMQXAPIKeyReader: Sendable {
    func emqxAPIKey(namespace: String, name: String) async throws -> EMQXAPIKey
    /// The Secret's `data` (values base64-encoded, as the API serves them).
    func secretData(namespace: String, name: String) async throws -> [String: String]
}

extension EMQXAPIKeyReader {
    /// The credential an `EMQXAPIKey` stands for: the key must be usable (role Administrator, Ready, not expired) and
    /// its Secret must hold `apiKey` and `apiSecret`. Problems name the object and the key, never a value.
    public func credential(namespace: String, keyName: String) async -> Result<EMQXAPICredential, CredentialProblem> {
        let key: EMQXAPIKey
        do {
            key = try await emqxAPIKey(namespace: namespace, name: keyName)
        } catch {
            return .failure(.init("cannot read EMQXAPIKey \(namespace)/\(keyName): \(error)"))
        }
        if let reason = key.unusableReason { return .failure(.init(reason)) }
        let secretName = key.spec.secretRef?.name ?? ""
        let data: [String: String]
        do {
            data = try await secretData(namespace: namespace, name: secretName)
        } catch {
            return .failure(.init("cannot read Secret \(namespace)/\(secretName) of EMQXAPIKey \(keyName): \(error)"))
        }
        return EMQXAPICredential.fromSecretData(data, secretName: secretName)
    }
}

extension HTTPKubernetesClient: EMQXAPIKeyReader {
    public func emqxAPIKey(namespace: String, name: String) async throws -> EMQXAPIKey {
        try await get(.emqxAPIKeys, namespace: namespace, name: name)
    }

    public func secretData(namespace: String, name: String) async throws -> [String: String] {
        struct Secret: Decodable { var data: [String: String]? }
        let secret: Secret = try await get(.secrets, namespace: namespace, name: name)
        return secret.data ?? [:]
    }
}

extension KubernetesPermission {
    /// What reading an `EMQXAPIKey` needs; granted only where the configuration names one (deploy/overlays/operator-3.0).
    public static let emqxAPIKey: Set<KubernetesPermission> = [
        .init(group: OperatorAPIs.group, resource: EMQXAPIKey.resource, verb: "get"),
        .init(group: "", resource: "secrets", verb: "get"),
    ]
}
