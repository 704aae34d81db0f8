/// How the agent acts on one cluster.
public enum ActingMode: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Creates `apps.emqx.io/v2beta1` `Rebalance` objects for the operator to run (operators 2.2 and 2.3).
    case rebalanceResource
    /// Calls EMQX's own `load_rebalance` API and keeps its own record (operator 3.0, or no operator).
    case emqxAPI
    /// Evaluates and alerts, never rebalances; `reason` says why and what to change.
    case alertOnly(reason: String)

    public var description: String {
        switch self {
        case .rebalanceResource: "creates apps.emqx.io/v2beta1 Rebalances"
        case .emqxAPI: "calls EMQX's load_rebalance API"
        case .alertOnly(let reason): "alert-only: \(reason)"
        }
    }

    /// The reason when the agent cannot rebalance this cluster.
    public var alertOnlyReason: String? {
        if case .alertOnly(let reason) = self { return reason }
        return nil
    }
}

/// Whether the agent can act on a cluster through EMQX's own API (`ActingMode.emqxAPI`), as the wiring knows it:
/// the EMQX-API actuator must exist and the cluster must have credentials for it.
public enum DirectActing: Sendable, Hashable {
    case available
    /// Why not, worded to follow "…; " in a sentence (e.g. "no EMQX API credentials are configured for it").
    case unavailable(String)

    /// This build (or this wiring) has no EMQX-API actuator.
    public static let notBuilt = DirectActing.unavailable(notBuiltReason)
    public static let notBuiltReason = "acting through EMQX's own load_rebalance API is not wired in this process"
}

/// The per-cluster choice made from discovery: which operator generation serves the cluster, which version its EMQX
/// object is read at, and how the agent acts on it. Made at start-up, after each reload and after a read of the
/// chosen version answers 404 (`OperatorDiscovery`).
public struct ClusterPlan: Sendable, Hashable, Codable {
    public var cluster: ClusterReference
    public var generation: OperatorGeneration
    /// The version the EMQX object is read at; `nil` when its kind is not served (see `problem`).
    public var objectVersion: EMQXObjectVersion?
    public var acting: ActingMode
    /// Why the object cannot be read at all, when `objectVersion` is `nil`.
    public var problem: String?

    public init(
        cluster: ClusterReference,
        generation: OperatorGeneration,
        objectVersion: EMQXObjectVersion?,
        acting: ActingMode,
        problem: String? = nil
    ) {
        self.cluster = cluster
        self.generation = generation
        self.objectVersion = objectVersion
        self.acting = acting
        self.problem = problem
    }

    /// The plan for a cluster of `cluster.kind`, given what the API serves, whether acting through EMQX's API is
    /// possible for it, and the entry's `actuator:` setting (pure).
    public static func make(
        for cluster: ClusterReference,
        served: OperatorAPIs,
        direct: DirectActing = .notBuilt,
        actuator: ActuatorSetting = .auto
    ) -> ClusterPlan {
        let generation = served.generation
        let version = served.objectVersion(for: cluster.kind)
        var problem: String?
        if version == nil {
            problem = unreadable(cluster.kind, generation: generation, served: served)
        }
        let found = acting(
            cluster.kind,
            generation: generation,
            served: served,
            direct: direct,
            readable: version != nil
        )
        return ClusterPlan(
            cluster: cluster,
            generation: generation,
            objectVersion: version,
            acting: version == nil
                ? found : chosen(actuator, found: found, kind: cluster.kind, served: served, direct: direct),
            problem: problem
        )
    }

    /// The plan of a cluster entry without an EMQX object (`emqx:` in the configuration): EMQX's own API is all there
    /// is, for reading the nodes and for acting.
    public static func withoutObject(_ cluster: ClusterReference, direct: DirectActing) -> ClusterPlan {
        let acting: ActingMode
        switch direct {
        case .available: acting = .emqxAPI
        case .unavailable(let why):
            acting = .alertOnly(reason: "the cluster has no EMQX object, so only EMQX's own API can act; \(why)")
        }
        return ClusterPlan(cluster: cluster, generation: .none, objectVersion: nil, acting: acting)
    }

    /// Whether the plan reads an EMQX object (`false` for `emqx:` entries, whose nodes come from EMQX's API).
    public var readsObject: Bool { objectVersion != nil || problem != nil }

    /// Applies the entry's `actuator:` setting to what discovery found (`auto`): a forced way that cannot work is
    /// alert-only with the reason and what to change.
    static func chosen(
        _ setting: ActuatorSetting,
        found: ActingMode,
        kind: InstanceKind,
        served: OperatorAPIs,
        direct: DirectActing
    ) -> ActingMode {
        switch setting {
        case .auto:
            return found
        case .rebalanceResource:
            if found == .rebalanceResource { return found }
            let why =
                found.alertOnlyReason
                ?? (served.generation == .v3_0
                    ? "EMQX Operator 3.0 has no Rebalance resource"
                    : "the API server does not serve apps.emqx.io/v2beta1 rebalances")
            return .alertOnly(
                reason:
                    "actuator: rebalanceResource is configured, but \(why); set actuator: auto or emqxAPI to act through EMQX's own API"
            )
        case .emqxAPI:
            guard kind == .emqx else {
                return .alertOnly(
                    reason:
                        "actuator: emqxAPI is configured, but the agent speaks EMQX 5's load_rebalance API and EmqxEnterprise is EMQX 4.4: set actuator: auto"
                )
            }
            switch direct {
            case .available: return .emqxAPI
            case .unavailable(let why): return .alertOnly(reason: "actuator: emqxAPI is configured; \(why)")
            }
        }
    }

    static func unreadable(_ kind: InstanceKind, generation: OperatorGeneration, served: OperatorAPIs) -> String {
        let versions =
            served.versions.isEmpty
            ? "nothing" : served.versions.map { "\(OperatorAPIs.group)/\($0)" }.joined(separator: ", ")
        switch (kind, generation) {
        case (_, .none):
            return
                "the API server does not serve \(OperatorAPIs.group): install the EMQX Operator (2.2 or later) and its CRDs"
        case (.emqxEnterprise, .v2_3), (.emqxEnterprise, .v3_0):
            return
                "\(generation) no longer serves EmqxEnterprise (EMQX 4.4): keep EMQX 4.4 clusters on EMQX Operator 2.2, or move them to EMQX 5 and an EMQX object"
        default:
            return
                "\(kind.resource).\(OperatorAPIs.group) is served at no version the agent reads (served: \(versions)); it reads EMQX at \(EMQXObjectVersion.emqxPreference.map(\.rawValue).joined(separator: ", ")) and EmqxEnterprise at v1beta4"
        }
    }

    static func acting(
        _ kind: InstanceKind,
        generation: OperatorGeneration,
        served: OperatorAPIs,
        direct: DirectActing,
        readable: Bool
    ) -> ActingMode {
        func directOr(_ reason: String) -> ActingMode {
            switch direct {
            case .available: .emqxAPI
            case .unavailable(let why): .alertOnly(reason: "\(reason); \(why)")
            }
        }
        guard readable else { return .alertOnly(reason: "its EMQX object cannot be read") }
        switch generation {
        case .v2_1:
            // 2.1's v1beta4 Rebalance has no instanceKind and always targets an EmqxEnterprise (emqx-operator-facts.md).
            return kind == .emqx
                ? .alertOnly(
                    reason:
                        "EMQX Operator 2.1 serves Rebalance only as apps.emqx.io/v1beta4, which has no instanceKind and always targets an EmqxEnterprise (EMQX 4.4), so it cannot rebalance an EMQX 5 cluster: upgrade the operator to 2.2 or later"
                )
                : .alertOnly(
                    reason:
                        "EMQX Operator 2.1 serves Rebalance only as apps.emqx.io/v1beta4 and the agent writes apps.emqx.io/v2beta1 Rebalances: upgrade the operator to 2.2"
                )
        case .v2_3 where kind == .emqxEnterprise:
            return .alertOnly(
                reason:
                    "EMQX Operator 2.3 runs Rebalances for EMQX 5 only; EmqxEnterprise (EMQX 4.4) is no longer supported there"
            )
        case .v3_0:
            return directOr("EMQX Operator 3.0 has no Rebalance resource")
        case .none, .unknown:
            return directOr("no EMQX Operator the agent knows serves this cluster")
        case .v2_2, .v2_3:
            return served.servesRebalance
                ? .rebalanceResource
                : directOr("apps.emqx.io/v2beta1 rebalances is not served: install the operator's Rebalance CRD")
        }
    }

    /// `EMQX Operator 2.3, reads apps.emqx.io/v2 emqxes, creates apps.emqx.io/v2beta1 Rebalances`.
    public var summary: String {
        let reads =
            objectVersion.map { "reads \($0.apiVersion) \(cluster.kind.resource)" }
            ?? (readsObject
                ? "cannot read it: \(problem ?? "not served")" : "reads EMQX's /api/v5/nodes (no EMQX object)")
        return "\(generation), \(reads), \(acting)"
    }
}

extension ClusterPlan {
    /// The one line `run --once`, the start-up log and `check --kubeconfig` print per cluster:
    /// `default/emqx (EMQX): EMQX Operator 2.3 (apps.emqx.io/v2), EMQX 5.9.1, source status, creates apps.emqx.io/v2beta1 Rebalances`.
    public func line(emqxVersions: [String], sources: [String]) -> String {
        let read =
            objectVersion.map { " (\($0.apiVersion))" }
            ?? (readsObject
                ? " (\(cluster.kind.rawValue) not readable: \(problem ?? "not served"))"
                : " (no EMQX object: nodes from EMQX's /api/v5/nodes)")
        let versions =
            emqxVersions.isEmpty ? "EMQX version not reported yet" : "EMQX " + emqxVersions.joined(separator: ", ")
        let source = sources.isEmpty ? "no metric source" : "source " + sources.joined(separator: ", ")
        return "\(cluster) (\(cluster.kind.rawValue)): \(generation)\(read), \(versions), \(source), \(acting)"
    }
}
