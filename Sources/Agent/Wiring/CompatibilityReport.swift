import Act
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

    /// - Parameter direct: whether a cluster can be acted on through EMQX's API; by default as its entry says (an
    ///   `emqxAPI` with a key), without reading the key or calling EMQX.
    public static func run(
        configuration: AgentConfiguration,
        api: any KubernetesAPI,
        direct: (@Sendable (ClusterReference) -> DirectActing)? = nil
    ) async -> Output {
        let discovery = OperatorDiscovery(api: api)
        var lines: [String] = []
        var hasErrors = false
        var clusters: [ClusterReference] = []
        var sources: [ClusterReference: [String]] = [:]
        var objectless: [String] = []
        let entries = configuration.clusters
        let direct =
            direct ?? { reference in
                entries.first { $0.covers(reference) }?.emqxAPI == nil
                    ? EMQXAPIAccess.notConfigured.directActing : .available
            }
        for settings in configuration.clusters {
            if !settings.hasObject, case .named(let reference) = settings.target {
                // Nothing to read in the Kubernetes API: the nodes come from EMQX's own API at run time.
                let plan = ClusterPlan.withoutObject(reference, direct: direct(reference))
                objectless.append("cluster " + plan.line(emqxVersions: [], sources: settings.sources.map(\.kind)))
                objectless.append(
                    "  note: its nodes are read from EMQX's /api/v5/nodes when the agent runs; check does not call EMQX"
                )
                continue
            }
            do {
                let references: [ClusterReference]
                switch settings.target {
                case .named(let reference): references = [reference]
                case .selector(let namespace, let kind, let labels):
                    references = try await discovery.clusters(
                        kind,
                        namespace: namespace ?? "default",
                        matchLabels: labels
                    )
                    if references.isEmpty {
                        lines.append("warning: no \(kind.rawValue) object matches \(settings.target)")
                    }
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
        let actuator: @Sendable (ClusterReference) -> ActuatorSetting = { reference in
            entries.first { $0.covers(reference) }?.actuator ?? .auto
        }
        let report = await CompatibilityCheck(discovery: discovery, direct: direct, actuator: actuator).run(
            clusters: clusters
        )
        if let served = report.served {
            let versions = served.versions.map { "\(OperatorAPIs.group)/\($0)" }.joined(separator: ", ")
            lines.append("API server: \(served.generation)" + (versions.isEmpty ? "" : " (serves \(versions))"))
        }
        for finding in report.findings where finding.cluster == nil { lines.append("\(finding)") }
        for result in report.clusters {
            let cluster = result.plan.cluster
            lines.append(
                "cluster "
                    + result.plan.line(
                        emqxVersions: result.reading?.emqxVersions ?? [],
                        sources: sources[cluster] ?? []
                    )
            )
            if let autoscaling = result.autoscaling { lines.append("  autoscaling: \(autoscaling)") }
            for note in result.reading?.notes ?? [] { lines.append("  note: \(note)") }
            for finding in report.findings where finding.cluster == cluster {
                lines.append("  \(finding.severity): \(finding.message)")
            }
        }
        return Output(lines: lines + objectless, hasErrors: hasErrors || report.hasErrors)
    }
}
