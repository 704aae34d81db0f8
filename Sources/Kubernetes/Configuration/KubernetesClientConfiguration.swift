import Foundation

/// Everything `HTTPKubernetesClient` needs to reach and authenticate to one API server, whichever way it was found
/// (in-cluster service account or kubeconfig).
public struct KubernetesClientConfiguration: Sendable {
    /// `https://host:port` (or `http://` for a local, unauthenticated API such as the simulator). No trailing slash.
    public var server: String
    /// The namespace of the in-cluster service account or of the kubeconfig context, when known.
    public var namespace: String?
    /// Bearer token source, when the credentials are a token.
    public var tokenProvider: (any BearerTokenProvider)?
    /// PEM client certificate and key, when the credentials are a certificate.
    public var clientCertificate: ClientCertificate?
    /// PEM bundle the server certificate must chain to; `nil` uses the system trust store.
    public var certificateAuthorityPEM: [UInt8]?
    /// Where ``certificateAuthorityPEM`` came from (a file path, or `certificate-authority-data of cluster "x" in
    /// FILE`), for the error that says the server's certificate is not trusted.
    public var certificateAuthorityOrigin: String?
    /// Skip TLS verification. Honoured only because kubeconfigs can ask for it; logged as a warning at start-up.
    public var insecureSkipTLSVerify: Bool
    /// Server name to verify instead of the URL host (`tls-server-name`).
    public var tlsServerName: String?
    /// Per-attempt timeout of every request. Default 10 s.
    public var requestTimeout: Duration
    /// Connect timeout. Default 5 s.
    public var connectTimeout: Duration
    public var retry: RetryPolicy
    /// Things the user should see at start-up (insecure TLS, ignored kubeconfig fields). Never contains secrets.
    public var warnings: [String]
    /// Where this came from, for the start-up log (`in-cluster`, `kubeconfig /path (context x)`).
    public var origin: String

    public init(
        server: String,
        namespace: String? = nil,
        tokenProvider: (any BearerTokenProvider)? = nil,
        clientCertificate: ClientCertificate? = nil,
        certificateAuthorityPEM: [UInt8]? = nil,
        insecureSkipTLSVerify: Bool = false,
        tlsServerName: String? = nil,
        requestTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(5),
        retry: RetryPolicy = RetryPolicy(),
        warnings: [String] = [],
        origin: String = "explicit"
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.namespace = namespace
        self.tokenProvider = tokenProvider
        self.clientCertificate = clientCertificate
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.warnings = warnings
        self.origin = origin
    }

    /// A PEM client certificate chain and its private key.
    public struct ClientCertificate: Sendable, Hashable {
        public var certificatePEM: [UInt8]
        public var keyPEM: [UInt8]

        public init(certificatePEM: [UInt8], keyPEM: [UInt8]) {
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
        }
    }

    /// Loads the configuration the way `kubectl` would for the agent: an explicit kubeconfig path first, then
    /// in-cluster when running in a pod, then `KUBECONFIG`, then `~/.kube/config`.
    ///
    /// - Parameters:
    ///   - kubeconfigPath: `--kubeconfig`, if given.
    ///   - context: a context to use instead of `current-context`.
    ///   - environment: the process environment, passed in as a value.
    ///   - serviceAccountDirectory: where the service-account token, CA and namespace are mounted.
    public static func load(
        kubeconfigPath: String? = nil,
        context: String? = nil,
        environment: [String: String],
        serviceAccountDirectory: String = InClusterConfiguration.defaultServiceAccountDirectory
    ) throws -> KubernetesClientConfiguration {
        if let kubeconfigPath {
            return try Kubeconfig.load(paths: [kubeconfigPath], environment: environment).configuration(
                context: context
            )
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil {
            return try InClusterConfiguration.load(
                environment: environment,
                serviceAccountDirectory: serviceAccountDirectory
            )
        }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            let paths = list.split(separator: ":").map(String.init)
            return try Kubeconfig.load(paths: paths, environment: environment).configuration(context: context)
        }
        guard let home = environment["HOME"] else {
            throw KubernetesError.configuration(
                "no Kubernetes configuration found: not in a pod (KUBERNETES_SERVICE_HOST unset), no --kubeconfig, no KUBECONFIG and no HOME"
            )
        }
        return try Kubeconfig.load(paths: ["\(home)/.kube/config"], environment: environment).configuration(
            context: context
        )
    }
}
