import AutorebalancerCore

/// Where an agent configuration names what it depends on (policy files and directories, the policies of each cluster),
/// so that problems found while loading those (a missing file, a cluster naming a policy no file defines) point at
/// the line that names them.
public struct ConfigurationReferences: Sendable, Hashable {
    /// `policies[i]`, in order.
    public var policyPaths: [SourceLocation] = []
    /// `clusters[i].policies[j]`, by the cluster's index.
    public var clusterPolicies: [Int: [SourceLocation]] = [:]
    /// The whole document, for problems without a line of their own.
    public var document: SourceLocation

    public init(document: SourceLocation) {
        self.document = document
    }

    /// Where `policies[index]` is written (the document when the index is out of range).
    public func policyPath(_ index: Int) -> SourceLocation {
        policyPaths.indices.contains(index) ? policyPaths[index] : document
    }

    /// Where `clusters[cluster].policies[index]` is written.
    public func clusterPolicy(_ cluster: Int, _ index: Int) -> SourceLocation {
        guard let locations = clusterPolicies[cluster], locations.indices.contains(index) else { return document }
        return locations[index]
    }

    /// The positions as the document was read (layer 1); an unreadable entry points at its list.
    init(_ document: AgentConfigDocument) {
        self.init(document: document.location)
        if let policies = document.policies {
            policyPaths = policies.value.map { $0?.location ?? policies.location }
        }
        for (index, cluster) in (document.clusters?.value ?? []).enumerated() {
            guard let policies = cluster?.policies else { continue }
            clusterPolicies[index] = policies.value.map { $0?.location ?? policies.location }
        }
    }
}
