/// Which kind of EMQX custom resource a cluster is, and so which `Rebalance.spec.instanceKind` targets it.
public enum InstanceKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// EMQX 5: `apps.emqx.io/v2beta1` `EMQX` (resource `emqxes`).
    case emqx = "EMQX"
    /// EMQX Enterprise 4.4: `apps.emqx.io/v1beta4` `EmqxEnterprise` (resource `emqxenterprises`).
    case emqxEnterprise = "EmqxEnterprise"

    /// The API version of the custom resource itself.
    public var apiVersion: String {
        switch self {
        case .emqx: "apps.emqx.io/v2beta1"
        case .emqxEnterprise: "apps.emqx.io/v1beta4"
        }
    }

    /// The plural resource name used in API paths.
    public var resource: String {
        switch self {
        case .emqx: "emqxes"
        case .emqxEnterprise: "emqxenterprises"
        }
    }
}

/// Identifies one watched EMQX cluster: the namespace and name of its custom resource, and its kind.
public struct ClusterReference: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public var namespace: String
    public var name: String
    public var kind: InstanceKind

    public init(namespace: String, name: String, kind: InstanceKind = .emqx) {
        self.namespace = namespace
        self.name = name
        self.kind = kind
    }

    /// `namespace/name`, the form used in decision records, logs and metric labels.
    public var description: String { "\(namespace)/\(name)" }

    public static func < (lhs: ClusterReference, rhs: ClusterReference) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }
}
