import AutorebalancerCore

extension AgentConfiguration {
    /// Why no cluster's Prometheus source could be taken from the configuration.
    public enum PrometheusSourceChoiceProblem: Error, Sendable, Hashable {
        /// No entry names the wanted cluster (or selects its namespace); with none wanted, no entry names a cluster.
        case noMatchingCluster
        /// Nothing was wanted and several entries name a cluster.
        case severalClusters
        /// The chosen entry (naming this cluster, or `nil` for a selector entry) has no `prometheus` source.
        case noPrometheusSource(ClusterReference?)
    }

    /// The Prometheus source of the entry for `wanted` — the first entry naming it, else the first selector entry of
    /// its namespace — or, with nothing wanted, of the only entry naming a cluster; with the cluster that entry names
    /// (`nil` for a selector entry).
    public func prometheusSource(
        for wanted: ClusterReference?
    ) throws(PrometheusSourceChoiceProblem) -> (settings: PrometheusSettings, cluster: ClusterReference?) {
        var candidates: [(ClusterSettings, ClusterReference?)] = []
        for settings in clusters {
            switch settings.target {
            case .named(let reference):
                if wanted == nil || (wanted?.namespace == reference.namespace && wanted?.name == reference.name) {
                    candidates.append((settings, reference))
                }
            case .selector(let namespace, _, _):
                if let wanted, namespace == nil || namespace == wanted.namespace { candidates.append((settings, nil)) }
            }
        }
        guard let (settings, reference) = candidates.first else { throw .noMatchingCluster }
        if wanted == nil, candidates.count > 1 { throw .severalClusters }
        for source in settings.sources {
            if case .prometheus(let prometheus) = source { return (prometheus, reference) }
        }
        throw .noPrometheusSource(reference)
    }
}
