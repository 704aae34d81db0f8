import AutorebalancerCore
import Foundation
import Yams

/// A parsed kubeconfig (one file or several merged as `KUBECONFIG=a:b` merges them: the first file that names a
/// cluster, user or context wins, and the first `current-context` wins).
public struct Kubeconfig: Sendable {
    // MARK: File shape

    struct Document: Decodable {
        var clusters: [Named<Cluster>]?
        var users: [Named<User>]?
        var contexts: [Named<Context>]?
        var currentContext: String?

        enum CodingKeys: String, CodingKey {
            case clusters, users, contexts
            case currentContext = "current-context"
        }
    }

    struct Named<Value: Decodable & Sendable>: Decodable, Sendable {
        var name: String
        var value: Value?

        enum CodingKeys: String, CodingKey { case name, cluster, user, context }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            value =
                try c.decodeIfPresent(Value.self, forKey: .cluster) ?? c.decodeIfPresent(Value.self, forKey: .user)
                ?? c.decodeIfPresent(Value.self, forKey: .context)
        }
    }

    struct Cluster: Decodable, Sendable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?
        var tlsServerName: String?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
            case tlsServerName = "tls-server-name"
        }
    }

    struct User: Decodable, Sendable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var exec: Exec?
        var username: String?
        var authProvider: AuthProvider?

        enum CodingKeys: String, CodingKey {
            case token, tokenFile, exec, username
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }

    struct AuthProvider: Decodable, Sendable {
        var name: String?
    }

    struct Exec: Decodable, Sendable {
        struct Variable: Decodable, Sendable {
            var name: String
            var value: String
        }
        var command: String?
        var args: [String]?
        var env: [Variable]?
        var apiVersion: String?
        var installHint: String?
    }

    struct Context: Decodable, Sendable {
        var cluster: String?
        var user: String?
        var namespace: String?
    }

    // MARK: Merged content

    struct Entry<Value: Sendable>: Sendable {
        var value: Value
        /// Directory of the file that defined it: relative paths resolve against it.
        var directory: String
    }

    var clusters: [String: Entry<Cluster>] = [:]
    var users: [String: Entry<User>] = [:]
    var contexts: [String: Entry<Context>] = [:]
    /// `current-context` of the first file that sets it.
    public private(set) var currentContext: String?
    /// The files that were read.
    public private(set) var paths: [String] = []
    let environment: [String: String]

    init(environment: [String: String]) { self.environment = environment }

    /// Parses kubeconfig text. `path` is used for messages and to resolve relative file references.
    public static func parse(_ text: String, path: String, environment: [String: String]) throws -> Kubeconfig {
        var config = Kubeconfig(environment: environment)
        try config.merge(text, path: path)
        return config
    }

    /// Reads and merges the given files; missing files among several are skipped, as kubectl does.
    public static func load(paths: [String], environment: [String: String]) throws -> Kubeconfig {
        var config = Kubeconfig(environment: environment)
        var missing: [String] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                missing.append(path)
                continue
            }
            try config.merge(String(decoding: data, as: UTF8.self), path: path)
        }
        if config.paths.isEmpty {
            throw KubernetesError.configuration(
                "kubeconfig not found or unreadable: \(missing.joined(separator: ", "))"
            )
        }
        return config
    }

    mutating func merge(_ text: String, path: String) throws {
        let document = try Self.document(text, path: path)
        let directory = (path as NSString).deletingLastPathComponent
        for item in document.clusters ?? [] where clusters[item.name] == nil {
            if let value = item.value { clusters[item.name] = Entry(value: value, directory: directory) }
        }
        for item in document.users ?? [] where users[item.name] == nil {
            users[item.name] = Entry(value: item.value ?? User(), directory: directory)
        }
        for item in document.contexts ?? [] where contexts[item.name] == nil {
            if let value = item.value { contexts[item.name] = Entry(value: value, directory: directory) }
        }
        if currentContext == nil, let current = document.currentContext, !current.isEmpty { currentContext = current }
        paths.append(path)
    }

    /// Reads one file's content, every problem worded as `kubeconfig FILE:LINE:COL: what is wrong`.
    static func document(_ text: String, path: String) throws -> Document {
        // kubectl reads an empty file as an empty configuration.
        if text.allSatisfy(\.isWhitespace) { return Document() }
        let reader = YAMLReader(file: path)
        guard let root = reader.parse(text) else {
            throw KubernetesError.configuration(
                "kubeconfig \(reader.diagnostics.first.map { "\($0.location): \($0.message)" } ?? "\(path) cannot be read")"
            )
        }
        guard root.mapping != nil else {
            throw KubernetesError.configuration(
                "kubeconfig \(reader.location(of: root)): expected a kubeconfig (a mapping with apiVersion: v1, kind: Config, clusters, users, contexts), got \(YAMLReader.describe(root))"
            )
        }
        do {
            return try YAMLDecoder().decode(Document.self, from: root)
        } catch {
            var problem = DecodingProblem(error)
            let (node, reached) = Self.node(at: problem.path, in: root)
            if reached, problem.problem.hasPrefix("expected"), !problem.problem.contains(", got ") {
                problem.problem += ", got \(YAMLReader.describe(node))"
            }
            throw KubernetesError.configuration("kubeconfig \(reader.location(of: node)): \(problem)")
        }
    }

    /// The deepest node along `path` (for the line of a problem), and whether it is the one the path names.
    static func node(at path: [DecodingProblem.Step], in root: Node) -> (Node, reached: Bool) {
        var node = root
        for step in path {
            let next: Node?
            switch step {
            case .key(let key): next = node.mapping?[key]
            case .index(let index): next = node.sequence.flatMap { index < $0.count ? $0[index] : nil }
            }
            guard let next else { return (node, false) }
            node = next
        }
        return (node, true)
    }

    /// Resolves one context into a client configuration: server, CA, credentials, namespace.
    /// - Parameter context: the context to use; `nil` uses `current-context`.
    public func configuration(context: String? = nil) throws -> KubernetesClientConfiguration {
        let where_ = paths.joined(separator: ":")
        guard let contextName = context ?? currentContext else {
            throw KubernetesError.configuration("kubeconfig \(where_) has no current-context; pass a context name")
        }
        guard let contextEntry = contexts[contextName] else {
            let known = contexts.keys.sorted().joined(separator: ", ")
            throw KubernetesError.configuration(
                "kubeconfig \(where_) has no context \"\(contextName)\" (known: \(known))"
            )
        }
        guard let clusterName = contextEntry.value.cluster, let clusterEntry = clusters[clusterName] else {
            throw KubernetesError.configuration(
                "kubeconfig \(where_): context \"\(contextName)\" names cluster \"\(contextEntry.value.cluster ?? "")\", which is not defined"
            )
        }
        let cluster = clusterEntry.value
        guard let server = cluster.server, !server.isEmpty else {
            throw KubernetesError.configuration("kubeconfig \(where_): cluster \"\(clusterName)\" has no server")
        }
        var warnings: [String] = []
        var result = KubernetesClientConfiguration(
            server: server,
            namespace: contextEntry.value.namespace,
            tlsServerName: cluster.tlsServerName,
            origin: "kubeconfig \(where_) (context \(contextName))"
        )
        if let data = cluster.certificateAuthorityData {
            result.certificateAuthorityPEM = try Self.decodeBase64(
                data,
                field: "clusters[\(clusterName)].certificate-authority-data",
                in: where_
            )
            result.certificateAuthorityOrigin = "certificate-authority-data of cluster \"\(clusterName)\" in \(where_)"
        } else if let file = cluster.certificateAuthority {
            result.certificateAuthorityPEM = try Self.read(
                file,
                relativeTo: clusterEntry.directory,
                field: "certificate-authority"
            )
            result.certificateAuthorityOrigin = Self.resolve(file, relativeTo: clusterEntry.directory)
        }
        if cluster.insecureSkipTLSVerify == true {
            result.insecureSkipTLSVerify = true
            warnings.append(
                "INSECURE: kubeconfig cluster \"\(clusterName)\" sets insecure-skip-tls-verify: the API server's certificate is NOT verified, so anyone on the network path can impersonate it. Use certificate-authority-data instead."
            )
        }

        if let userName = contextEntry.value.user, let userEntry = users[userName] {
            let user = userEntry.value
            let directory = userEntry.directory
            if let exec = user.exec {
                guard let command = exec.command, !command.isEmpty else {
                    throw KubernetesError.configuration(
                        "kubeconfig \(where_): user \"\(userName)\" has an exec block without a command"
                    )
                }
                var env: [String: String] = [:]
                for variable in exec.env ?? [] { env[variable.name] = variable.value }
                result.tokenProvider = ExecCredentialProvider(
                    command: .init(
                        command: command,
                        args: exec.args ?? [],
                        env: env,
                        apiVersion: exec.apiVersion ?? "client.authentication.k8s.io/v1beta1",
                        installHint: exec.installHint
                    ),
                    environment: environment,
                    workingDirectory: directory
                )
            } else if let token = user.token, !token.isEmpty {
                result.tokenProvider = StaticTokenProvider(token)
            } else if let tokenFile = user.tokenFile {
                result.tokenProvider = FileTokenProvider(path: Self.resolve(tokenFile, relativeTo: directory))
            }
            let certificate: [UInt8]? =
                try user.clientCertificateData.map {
                    try Self.decodeBase64($0, field: "users[\(userName)].client-certificate-data", in: where_)
                }
                ?? user.clientCertificate.map { try Self.read($0, relativeTo: directory, field: "client-certificate") }
            let key: [UInt8]? =
                try user.clientKeyData.map {
                    try Self.decodeBase64($0, field: "users[\(userName)].client-key-data", in: where_)
                }
                ?? user.clientKey.map { try Self.read($0, relativeTo: directory, field: "client-key") }
            switch (certificate, key) {
            case let (certificate?, key?):
                result.clientCertificate = .init(certificatePEM: certificate, keyPEM: key)
            case (nil, nil):
                break
            default:
                throw KubernetesError.configuration(
                    "kubeconfig \(where_): user \"\(userName)\" has a client certificate without its key (or a key without its certificate)"
                )
            }
            if let provider = user.authProvider?.name {
                warnings.append(
                    "kubeconfig user \"\(userName)\" uses the removed auth-provider \"\(provider)\"; use an exec plugin (e.g. gke-gcloud-auth-plugin)"
                )
            }
            if user.username != nil {
                warnings.append(
                    "kubeconfig user \"\(userName)\" uses basic auth (username/password), which the agent does not support"
                )
            }
        } else if let userName = contextEntry.value.user, !userName.isEmpty {
            throw KubernetesError.configuration(
                "kubeconfig \(where_): context \"\(contextName)\" names user \"\(userName)\", which is not defined"
            )
        }
        result.warnings = warnings
        return result
    }

    static func resolve(_ path: String, relativeTo directory: String) -> String {
        path.hasPrefix("/") || directory.isEmpty ? path : "\(directory)/\(path)"
    }

    static func read(_ path: String, relativeTo directory: String, field: String) throws -> [UInt8] {
        let full = resolve(path, relativeTo: directory)
        guard let data = FileManager.default.contents(atPath: full) else {
            throw KubernetesError.configuration("kubeconfig \(field) file \(full) is missing or unreadable")
        }
        return Array(data)
    }

    static func decodeBase64(_ text: String, field: String, in path: String) throws -> [UInt8] {
        let compact = text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) else {
            throw KubernetesError.configuration("kubeconfig \(path): \(field) is not valid base64")
        }
        return Array(data)
    }
}
