import AutorebalancerCore

/// A failed Kubernetes API call, classified, with the request it belongs to, worded for the person reading the log.
///
/// Compare `code` against the static members (`error.code == .notFound`); new codes may be added later.
public struct KubernetesError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case notFound, alreadyExists, conflict, forbidden, unauthorized, invalid, unavailable, unsupported,
                untrusted, gone, notKubernetesAPI, other
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// 404: the object (or the resource type) does not exist.
        public static let notFound = Code(.notFound)
        /// 409 with reason `AlreadyExists`: a create hit an existing name.
        public static let alreadyExists = Code(.alreadyExists)
        /// 409 otherwise: the `resourceVersion` was stale (optimistic concurrency).
        public static let conflict = Code(.conflict)
        /// 403: RBAC does not allow the verb.
        public static let forbidden = Code(.forbidden)
        /// 401: the credentials were rejected.
        public static let unauthorized = Code(.unauthorized)
        /// 400/422: the API server rejected the object (a webhook, the schema).
        public static let invalid = Code(.invalid)
        /// Transport failure, timeout, 429 or 5xx: worth retrying later.
        public static let unavailable = Code(.unavailable)
        /// 410: a watch asked for a resourceVersion the API server no longer holds; list again.
        public static let gone = Code(.gone)
        /// The configuration cannot be used (bad kubeconfig, unreadable token file, exec plugin failure).
        public static let unsupported = Code(.unsupported)
        /// The API server's TLS certificate is not trusted (another CA, another name): a configuration error that
        /// retries cannot fix.
        public static let untrusted = Code(.untrusted)
        /// The server answered, but not as a Kubernetes API server does (an HTML page, another service's JSON): the
        /// kubeconfig's `server` points elsewhere.
        public static let notKubernetesAPI = Code(.notKubernetesAPI)
        /// Any other HTTP status.
        public static let other = Code(.other)

        public var description: String { base.rawValue }
    }

    /// The request that failed.
    public struct Request: Sendable, Hashable {
        /// RBAC verb: `get`, `list`, `create`, `update`, `patch`, `delete`.
        public var verb: String
        public var resource: KubernetesResource
        public var namespace: String?
        public var name: String?

        public init(verb: String, resource: KubernetesResource, namespace: String?, name: String? = nil) {
            self.verb = verb
            self.resource = resource
            self.namespace = namespace
            self.name = name
        }
    }

    public var code: Code
    public var request: Request?
    /// The HTTP status, when there was a response.
    public var statusCode: Int?
    /// The API server's `Status.message`, or the transport error text.
    public var detail: String
    /// `Retry-After` in seconds, when the server sent one.
    public var retryAfterSeconds: Double?
    /// No connection could be made (refused, unresolvable, no route, connect timeout): nothing reached the server.
    public var connectionFailed = false
    /// The request was sent and no answer came within its timeout (or the cycle's budget left none).
    public var timedOut = false

    public init(code: Code, request: Request?, statusCode: Int? = nil, detail: String, retryAfterSeconds: Double? = nil)
    {
        self.code = code
        self.request = request
        self.statusCode = statusCode
        self.detail = detail
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// Worth retrying (transport, timeout, 429, 5xx).
    public var isTransient: Bool { code == .unavailable }

    /// Classifies an HTTP status and the `Status` body the API server sent.
    public static func classify(statusCode: Int, status: KubernetesStatus?) -> Code {
        switch statusCode {
        case 404: return .notFound
        case 409: return status?.reason == "AlreadyExists" ? .alreadyExists : .conflict
        case 403: return .forbidden
        case 401: return .unauthorized
        case 400, 422: return .invalid
        case 410: return .gone
        case 429, 500...599: return .unavailable
        default: return .other
        }
    }

    public var description: String {
        let target = request.map(Self.describe) ?? "Kubernetes API call"
        let status = statusCode.map { " (HTTP \($0))" } ?? ""
        switch code {
        case .forbidden:
            guard let request else { return "forbidden\(status): \(detail)" }
            let scope = request.namespace.map { "in namespace \"\($0)\"" } ?? "cluster-wide"
            let group = request.resource.group
            return """
                forbidden\(status): the agent's service account may not \(request.verb) \(request.resource) \(scope). \
                Add this rule to the agent's Role in that namespace: \
                {apiGroups: ["\(group)"], resources: ["\(request.resource.plural)"], verbs: ["\(request.verb)"]}. \
                API server said: \(detail)
                """
        case .unauthorized:
            return
                "unauthorized\(status) on \(target): the credentials were rejected (expired token, wrong kubeconfig user, or a rotated service-account token not yet re-read). API server said: \(detail)"
        case .notFound:
            return "not found\(status): \(target). \(detail)"
        case .alreadyExists:
            return "already exists\(status): \(target). \(detail)"
        case .conflict:
            return
                "conflict\(status) on \(target): the object changed since it was read; re-read and try again. \(detail)"
        case .invalid:
            return "rejected as invalid\(status): \(target). \(detail)"
        case .unavailable:
            return "API server unavailable\(status) for \(target): \(detail)"
        case .unsupported:
            return "Kubernetes client configuration: \(detail)"
        case .untrusted:
            return "TLS: \(detail)"
        case .gone:
            return
                "expired\(status): \(target) asked for a resourceVersion the API server no longer holds (listed again). \(detail)"
        case .notKubernetesAPI:
            return "this is not a Kubernetes API server: \(detail)"
        default:
            return "unexpected answer\(status) to \(target): \(detail)"
        }
    }

    /// What went wrong without the request (which a retry line already names): `API server unavailable (HTTP 503):
    /// etcdserver: request timed out`.
    public var summary: String {
        guard code == .unavailable else { return description }
        return "API server unavailable\(statusCode.map { " (HTTP \($0))" } ?? ""): \(detail)"
    }

    static func describe(_ request: Request) -> String {
        if request.resource.plural.isEmpty {
            // Discovery: the group (`/apis/apps.emqx.io`) or group version (`/apis/apps.emqx.io/v2beta1`) asked.
            let resource = request.resource
            let path = resource.version.isEmpty ? "/apis/\(resource.group)" : resource.groupVersionPath
            return "discovery \(request.verb) \(path)"
        }
        return switch (request.namespace, request.name) {
        case let (namespace?, name?): "\(request.verb) \(request.resource) \(namespace)/\(name)"
        case let (namespace?, nil): "\(request.verb) \(request.resource) in namespace \(namespace)"
        case let (nil, name?): "\(request.verb) \(request.resource) \(name)"
        case (nil, nil): "\(request.verb) \(request.resource)"
        }
    }

    static func configuration(_ detail: String) -> KubernetesError {
        KubernetesError(code: .unsupported, request: nil, detail: detail)
    }
}
