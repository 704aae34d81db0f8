import AutorebalancerCore

/// One kind of API resource the agent touches: its group, version and plural, and how to write its paths.
public struct KubernetesResource: Sendable, Hashable, CustomStringConvertible {
    /// API group; empty for the core group (`v1` Events).
    public var group: String
    public var version: String
    /// Plural resource name as RBAC rules and URLs spell it (`rebalances`).
    public var plural: String

    public init(group: String, version: String, plural: String) {
        self.group = group
        self.version = version
        self.plural = plural
    }

    public static let emqxes = KubernetesResource(group: "apps.emqx.io", version: "v2beta1", plural: "emqxes")
    public static let emqxEnterprises = KubernetesResource(
        group: "apps.emqx.io",
        version: "v1beta4",
        plural: "emqxenterprises"
    )
    public static let pods = KubernetesResource(group: "", version: "v1", plural: "pods")

    /// The EMQX resource served at a version: `emqxes`, or `emqxenterprises` at `v1beta4`.
    public static func emqxObjects(_ version: EMQXObjectVersion) -> KubernetesResource {
        KubernetesResource(
            group: OperatorAPIs.group,
            version: version.rawValue,
            plural: version == .v1beta4 ? "emqxenterprises" : "emqxes"
        )
    }
    public static let rebalances = KubernetesResource(group: "apps.emqx.io", version: "v2beta1", plural: "rebalances")
    /// Operator 3.0's API keys, and the Secret one names (read only where the configuration names a key).
    public static let emqxAPIKeys = KubernetesResource(
        group: "apps.emqx.io",
        version: "v3beta1",
        plural: EMQXAPIKey.resource
    )
    public static let secrets = KubernetesResource(group: "", version: "v1", plural: "secrets")
    /// The agent's own record of a rebalance through EMQX's API (deploy/crds).
    public static let emqxRebalances = KubernetesResource(
        group: EMQXRebalance.group,
        version: EMQXRebalance.version,
        plural: EMQXRebalance.resource
    )
    public static let leases = KubernetesResource(group: "coordination.k8s.io", version: "v1", plural: "leases")
    public static let events = KubernetesResource(group: "", version: "v1", plural: "events")
    public static let eventsV1 = KubernetesResource(group: "events.k8s.io", version: "v1", plural: "events")

    /// `group/version`, or just `version` for the core group.
    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// `rebalances.apps.emqx.io` (or `events` for the core group), as `kubectl` names resources.
    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// The path prefix of the group version: `/api/v1` or `/apis/<group>/<version>`.
    public var groupVersionPath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// The path of the collection in a namespace, or of one object when `name` is given.
    public func path(namespace: String, name: String? = nil) -> String {
        var path = "\(groupVersionPath)/namespaces/\(Self.escape(namespace))/\(plural)"
        if let name { path += "/\(Self.escape(name))" }
        return path
    }

    /// Percent-encodes everything outside the unreserved set (names are DNS-1123, so this rarely changes anything).
    static func escape(_ segment: String) -> String {
        segment.addingPercentEncodingForPath()
    }
}

extension String {
    func addingPercentEncodingForPath() -> String {
        var out = ""
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
