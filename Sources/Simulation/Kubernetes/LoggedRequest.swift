/// One request as the simulated API server received it, with the API group, resource and subresource it named:
/// what a test reads to see which RBAC permissions a client used.
public struct LoggedRequest: Sendable, Hashable, CustomStringConvertible {
    /// The HTTP method (`GET`, `POST`, …).
    public var method: String
    /// The path, without the query.
    public var path: String
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`; nil for discovery,
    /// `/version` and paths that name no served resource.
    public var verb: String?
    /// API group (`""` for the core group); nil when the path names no served resource.
    public var group: String?
    /// The resource plural (`emqxes`).
    public var resource: String?
    /// `status`, `scale`, or nil.
    public var subresource: String?
    public var namespace: String?
    public var name: String?

    /// The resource as RBAC names it: a subresource is its own resource (`emqxes/scale`).
    public var rbacResource: String? {
        guard let resource else { return nil }
        return subresource.map { "\(resource)/\($0)" } ?? resource
    }

    public var description: String { "\(method) \(path)" }

    init(method: String, path: String, verb: String?, parsed: KubernetesAPIPath?) {
        self.method = method
        self.path = path
        self.verb = verb
        if case .resource(let type, let namespace, let name, let subresource)? = parsed {
            self.group = type.group
            self.resource = type.plural
            self.subresource = subresource
            self.namespace = namespace
            self.name = name
        }
    }
}
