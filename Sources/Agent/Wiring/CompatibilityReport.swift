import AutorebalancerCore
import Foundation
import Kubernetes

/// What `check --kubeconfig FILE agent.yaml` prints for an agent configuration, without running the agent: per
/// watched cluster the same line `run --once` and the start-up log print (operator generation, EMQX versions, metric
/// source, how the agent acts), what an HPA can do there, and every finding of the start-up check.
public enum CompatibilityReport {
    public struct Output: Sendable {
        public var lines: [String]
        public var hasErrors: Bool
    }

    public static func run(
        configuration: AgentConfiguration, api: any KubernetesAPI,
        direct: @escaping @Sendable (ClusterReference) -> DirectActing = { _ in .notBuilt }
    ) async -> Output {
        let discovery = OperatorDiscovery(api: api)
        var lines: [String] = []
        var hasErrors = false
        var clusters: [ClusterReference] = []
        var sources: [ClusterReference: [String]] = [:]
        for settings in configuration.clusters {
            do {
                let references: [ClusterReference]
                switch settings.target {
                case .named(let reference): references = [reference]
                case .selector(let namespace, let kind, let labels):
                    references = try await discovery.clusters(kind, namespace: namespace ?? "default", matchLabels: labels)
                    if references.isEmpty { lines.append("warning: no \(kind.rawValue) object matches \(settings.target)") }
                }
                for reference in references where sources[reference] == nil {
                    clusters.append(reference)
                    sources[reference] = settings.sources.map(\.kind)
                }
            } catch {
                lines.append("error: cannot list the clusters of \(settings.target): \(error)")
                hasErrors = true
            }
        }
        let report = await CompatibilityCheck(discovery: discovery, direct: direct).run(clusters: clusters)
        if let served = report.served {
            let versions = served.versions.map { "\(OperatorAPIs.group)/\($0)" }.joined(separator: ", ")
            lines.append("API server: \(served.generation)" + (versions.isEmpty ? "" : " (serves \(versions))"))
        }
        for finding in report.findings where finding.cluster == nil { lines.append("\(finding)") }
        for result in report.clusters {
            let cluster = result.plan.cluster
            lines.append("cluster " + result.plan.line(emqxVersions: result.reading?.emqxVersions ?? [], sources: sources[cluster] ?? []))
            if let autoscaling = result.autoscaling { lines.append("  autoscaling: \(autoscaling)") }
            for note in result.reading?.notes ?? [] { lines.append("  note: \(note)") }
            for finding in report.findings where finding.cluster == cluster {
                lines.append("  \(finding.severity): \(finding.message)")
            }
        }
        return Output(lines: lines, hasErrors: hasErrors || report.hasErrors)
    }
}
