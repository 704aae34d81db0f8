import Foundation

/// An `apps.emqx.io/v3beta1` `EMQXAPIKey` (EMQX Operator 3.0, `api/v3beta1/emqxapikey_types_spec.go` and
/// `…_status.go`): the operator issues an API key for an EMQX object and writes it into a Secret under the data
/// keys `apiKey` and `apiSecret` (`internal/controller/emqxapikey_controller.go`). Only what the agent reads.
public struct EMQXAPIKey: Sendable, Hashable, Codable {
    public static let apiVersion = "apps.emqx.io/v3beta1"
    public static let kind = "EMQXAPIKey"
    public static let resource = "emqxapikeys"

    public struct Reference: Sendable, Hashable, Codable {
        public var name: String
        public init(name: String) { self.name = name }
    }

    public struct Spec: Sendable, Hashable, Codable {
        public var emqxRef: Reference?
        public var secretRef: Reference?
        /// `Administrator` (default), `Viewer` or `Publisher`.
        public var role: String?
        public var expiresAt: String?

        public init(
            emqxRef: Reference? = nil,
            secretRef: Reference? = nil,
            role: String? = nil,
            expiresAt: String? = nil
        ) {
            self.emqxRef = emqxRef
            self.secretRef = secretRef
            self.role = role
            self.expiresAt = expiresAt
        }
    }

    public struct Status: Sendable, Hashable, Codable {
        /// `Ready`, `Issuing`, `Expired`.
        public var conditions: [StatusCondition]?
        public init(conditions: [StatusCondition]? = nil) { self.conditions = conditions }
    }

    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec, status: Status? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The Secret's data keys the operator writes.
    public static let keyField = "apiKey"
    public static let secretField = "apiSecret"

    /// Why this key cannot serve the agent's rebalances, or `nil` when it can (once its Secret is read).
    public var unusableReason: String? {
        let name = metadata.name ?? "?"
        let role = spec.role ?? "Administrator"
        guard role == "Administrator" else {
            return
                "EMQXAPIKey \(name) has role \(role); load_rebalance needs role Administrator (Viewer and Publisher cannot start a rebalance)"
        }
        if status?.conditions?.isTrue("Expired") == true {
            return "EMQXAPIKey \(name) has expired: renew it (spec.expiresAt)"
        }
        guard status?.conditions?.isTrue("Ready") == true else {
            return "EMQXAPIKey \(name) is not Ready yet (the operator has not issued it)"
        }
        guard spec.secretRef?.name.isEmpty == false else { return "EMQXAPIKey \(name) names no spec.secretRef" }
        return nil
    }
}

/// An EMQX API key and its secret, however they were found. `description` never shows the secret.
public struct EMQXAPICredential: Sendable, Hashable, CustomStringConvertible {
    public var key: String
    public var secret: String

    public init(key: String, secret: String) {
        self.key = key
        self.secret = secret
    }

    public var description: String { "API key \(key)" }

    /// From a Secret's `data` (base64 values, as the API serves them) under `apiKey`/`apiSecret`.
    /// - Returns: the credential, or what is missing (naming the Secret and the key, never a value).
    public static func fromSecretData(
        _ data: [String: String],
        secretName: String
    ) -> Result<EMQXAPICredential, CredentialProblem> {
        func field(_ name: String) -> Result<String, CredentialProblem> {
            guard let encoded = data[name] else {
                return .failure(.init("Secret \(secretName) has no data key \(name)"))
            }
            guard let decoded = Data(base64Encoded: encoded), let text = String(data: decoded, encoding: .utf8) else {
                return .failure(.init("Secret \(secretName) data key \(name) is not base64-encoded UTF-8"))
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return value.isEmpty ? .failure(.init("Secret \(secretName) data key \(name) is empty")) : .success(value)
        }
        return field(EMQXAPIKey.keyField).flatMap { key in
            field(EMQXAPIKey.secretField).map { EMQXAPICredential(key: key, secret: $0) }
        }
    }

    /// From a Secret mounted as a directory: files `apiKey` and `apiSecret` (the `EMQXAPIKey` Secret's own keys).
    public static func fromMountedSecret(
        directory: String,
        read: (String) throws -> String
    ) -> Result<EMQXAPICredential, CredentialProblem> {
        func field(_ name: String) -> Result<String, CredentialProblem> {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                let value = try read(path).trimmingCharacters(in: .whitespacesAndNewlines)
                return value.isEmpty ? .failure(.init("\(path) is empty")) : .success(value)
            } catch {
                return .failure(
                    .init(
                        "cannot read \(path): mount the API key's Secret there (data keys \(EMQXAPIKey.keyField), \(EMQXAPIKey.secretField))"
                    )
                )
            }
        }
        return field(EMQXAPIKey.keyField).flatMap { key in
            field(EMQXAPIKey.secretField).map { EMQXAPICredential(key: key, secret: $0) }
        }
    }
}

public struct CredentialProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
