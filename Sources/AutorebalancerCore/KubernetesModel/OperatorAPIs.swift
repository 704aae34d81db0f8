/// A version of the `apps.emqx.io` group the agent can read an EMQX object at.
public enum EMQXObjectVersion: String, Sendable, Hashable, Codable, CaseIterable {
    /// `EmqxEnterprise` (EMQX 4.4): operators 2.1 and 2.2.
    case v1beta4
    /// `EMQX` (EMQX 5): operators 2.1 and 2.2 (deprecated, still served, in 2.3).
    case v2beta1
    /// `EMQX`: operator 2.3 (EMQX 5.9+ and 6.x).
    case v2
    /// `EMQX`: operator 3.0, which serves no other version.
    case v3beta1

    /// `apps.emqx.io/<version>`.
    public var apiVersion: String { "\(OperatorAPIs.group)/\(rawValue)" }

    /// The versions an `EMQX` object is read at, preferred first: the newest shape carries the most facts.
    public static let emqxPreference: [EMQXObjectVersion] = [.v3beta1, .v2, .v2beta1]
}

/// The EMQX Operator generation an API server's `apps.emqx.io` group reveals.
public enum OperatorGeneration: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// `apps.emqx.io` is not served: no EMQX Operator is installed.
    case none
    /// `Rebalance` only as `v1beta4` (no `instanceKind`).
    case v2_1 = "2.1"
    /// `EMQX` `v2beta1`, `EmqxEnterprise` `v1beta4`, `Rebalance` `v2beta1`.
    case v2_2 = "2.2"
    /// `EMQX` `v2`, `Rebalance` `v2beta1`, no `EmqxEnterprise`.
    case v2_3 = "2.3"
    /// `EMQX` `v3beta1` only; no `Rebalance`.
    case v3_0 = "3.0"
    /// `apps.emqx.io` is served, but in no shape the agent knows.
    case unknown

    public var description: String {
        switch self {
        case .none: "no EMQX Operator"
        case .unknown: "an unrecognised EMQX Operator"
        default: "EMQX Operator \(rawValue)"
        }
    }
}

/// What the API server serves in the `apps.emqx.io` group: the discovery result every per-cluster choice is made
/// from. Pure data; `OperatorDiscovery` (Kubernetes) fills it from `GET /apis/apps.emqx.io[/<version>]`.
public struct OperatorAPIs: Sendable, Hashable, Codable {
    public static let group = "apps.emqx.io"

    /// Version → plural resource names it serves (subresources such as `emqxes/status` left out).
    public var resources: [String: Set<String>]

    public init(resources: [String: Set<String>]) {
        self.resources = resources
    }

    /// Nothing served (the group is absent).
    public static let none = OperatorAPIs(resources: [:])

    /// The versions served, sorted.
    public var versions: [String] { resources.keys.sorted() }

    public func serves(_ plural: String, at version: String) -> Bool {
        resources[version]?.contains(plural) ?? false
    }

    /// The version to read a cluster's object at: for `EMQX` the preferred served one (`EMQXObjectVersion.emqxPreference`),
    /// for `EmqxEnterprise` `v1beta4`; `nil` when the kind is not served at any version the agent reads.
    public func objectVersion(for kind: InstanceKind) -> EMQXObjectVersion? {
        switch kind {
        case .emqx:
            EMQXObjectVersion.emqxPreference.first { serves(kind.resource, at: $0.rawValue) }
        case .emqxEnterprise:
            serves(kind.resource, at: EMQXObjectVersion.v1beta4.rawValue) ? .v1beta4 : nil
        }
    }

    /// Whether the `Rebalance` the agent writes (`apps.emqx.io/v2beta1`) is served.
    public var servesRebalance: Bool { serves(Rebalance.resource, at: "v2beta1") }

    /// The operator generation these resources reveal. `v3beta1` `emqxes` means 3.0 even if an old `Rebalance` CRD is
    /// still installed (3.0 has no controller for it); `v2` `emqxes` means 2.3; `v2beta1` `emqxes` 2.2, unless
    /// `Rebalance` is served only as `v1beta4`, which is 2.1.
    public var generation: OperatorGeneration {
        if resources.isEmpty { return .none }
        if serves("emqxes", at: "v3beta1") { return .v3_0 }
        if serves("emqxes", at: "v2") { return .v2_3 }
        if serves(Rebalance.resource, at: "v1beta4"), !servesRebalance { return .v2_1 }
        if serves("emqxes", at: "v2beta1") || serves("emqxenterprises", at: "v1beta4") || servesRebalance {
            return .v2_2
        }
        return .unknown
    }
}
