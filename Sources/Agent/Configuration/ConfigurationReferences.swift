import AutorebalancerCore
import Yams

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

    /// Reads the positions without judging anything (the parser reports what is wrong).
    static func read(root: Node, reader: YAMLReader) -> ConfigurationReferences {
        var references = ConfigurationReferences(document: reader.location(of: root))
        let top = root.mapping
        references.policyPaths = (top?["policies"]?.sequence).map { $0.map { reader.location(of: $0) } } ?? []
        for (index, cluster) in (top?["clusters"]?.sequence.map(Array.init) ?? []).enumerated() {
            guard let policies = cluster.mapping?["policies"]?.sequence else { continue }
            references.clusterPolicies[index] = policies.map { reader.location(of: $0) }
        }
        return references
    }
}
