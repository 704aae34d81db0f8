import AutorebalancerCore
import Foundation

/// The start-up check (and `check --kubeconfig`): what the API server serves, per cluster which operator generation
/// serves it, how the agent reads and acts on it, whether an HPA can drive it, and, when something is wrong, what
/// exactly.
public struct CompatibilityCheck: Sendable {
    /// One finding. `error` findings mean the agent cannot act on that cluster; `warning`s limit what it can do.
    public struct Finding: Sendable, Hashable, CustomStringConvertible {
        public enum Severity: String, Sendable, Hashable { case error, warning }
        public var severity: Severity
        /// The cluster concerned, or `nil` for the whole agent.
        public var cluster: ClusterReference?
        public var message: String

        public init(severity: Severity, cluster: ClusterReference?, message: String) {
            self.severity = severity
            self.cluster = cluster
            self.message = message
        }

        public var description: String {
            "\(severity): \(cluster.map { "\($0): " } ?? "")\(message)"
        }
    }

    /// What was learnt about one cluster.
    public struct ClusterResult: Sendable, Hashable {
        public var plan: ClusterPlan
        /// `nil` when the object could not be read.
        public var reading: ClusterReading?
        /// What the scale subresource says about HPAs on this cluster (EMQX 5 only).
        public var autoscaling: String?
    }

    /// Everything one run found.
    public struct Report: Sendable {
        /// `nil` when discovery itself failed (see `findings`).
        public var served: OperatorAPIs?
        public var clusters: [ClusterResult]
        public var findings: [Finding]

        public var hasErrors: Bool { findings.contains { $0.severity == .error } }
    }

    public let discovery: OperatorDiscovery
    public let direct: @Sendable (ClusterReference) -> DirectActing
    /// The entry's `actuator:` setting.
    public let actuator: @Sendable (ClusterReference) -> ActuatorSetting

    public init(
        discovery: OperatorDiscovery,
        direct: @escaping @Sendable (ClusterReference) -> DirectActing = { _ in .notBuilt },
        actuator: @escaping @Sendable (ClusterReference) -> ActuatorSetting = { _ in .auto }
    ) {
        self.discovery = discovery
        self.direct = direct
        self.actuator = actuator
    }

    /// Runs every check (discovering first) and returns every finding. Never throws: a failed call is a finding.
    public func run(clusters: [ClusterReference]) async -> Report {
        var report = Report(served: nil, clusters: [], findings: [])
        let served: OperatorAPIs
        do {
            served = try await discovery.refresh()
            report.served = served
        } catch {
            report.findings.append(
                Finding(
                    severity: .error,
                    cluster: nil,
                    message: "cannot discover what the API server serves in \(OperatorAPIs.group): \(error)"
                )
            )
            return report
        }
        if served.generation == .none {
            report.findings.append(
                Finding(
                    severity: .error,
                    cluster: nil,
                    message:
                        "the API server does not serve \(OperatorAPIs.group): install the EMQX Operator (2.2 or later) and its CRDs"
                )
            )
        }
        for cluster in clusters {
            report.clusters.append(await check(cluster, served: served, findings: &report.findings))
        }
        return report
    }

    func check(_ cluster: ClusterReference, served: OperatorAPIs, findings: inout [Finding]) async -> ClusterResult {
        let plan = ClusterPlan.make(for: cluster, served: served, direct: direct(cluster), actuator: actuator(cluster))
        var result = ClusterResult(plan: plan)
        if let problem = plan.problem {
            findings.append(Finding(severity: .error, cluster: cluster, message: problem))
            return result
        }
        if let reason = plan.acting.alertOnlyReason {
            findings.append(Finding(severity: .warning, cluster: cluster, message: "alert-only: \(reason)"))
        }
        let api = discovery.api
        do {
            let object = try await discovery.object(of: cluster)
            var pods: [Pod]?
            if object.version == .v3beta1 {
                do {
                    pods = try await api.pods(
                        namespace: cluster.namespace,
                        labelSelector: "\(Pod.instanceLabel)=\(cluster.name)"
                    )
                } catch {
                    findings.append(
                        Finding(
                            severity: .warning,
                            cluster: cluster,
                            message:
                                "cannot list the cluster's pods (\(error)); on EMQX Operator 3.0 the agent then cannot see the apps.emqx.io/scaling-down mark and holds back every rebalance"
                        )
                    )
                }
            }
            let reading = ClusterReading.read(object, pods: pods)
            result.reading = reading
            switch reading.facts.enterprise {
            case false?:
                findings.append(
                    Finding(
                        severity: .error,
                        cluster: cluster,
                        message:
                            "the nodes report the open-source edition: rebalance is an EMQX Enterprise feature, so Rebalances would fail"
                    )
                )
            case nil:
                findings.append(
                    Finding(
                        severity: .warning,
                        cluster: cluster,
                        message:
                            "the edition is not known yet (status lists no nodes or no edition); rebalance needs EMQX Enterprise"
                    )
                )
            default:
                break
            }
            if let note = ClusterReading.statusSourceNote(for: cluster.kind) {
                findings.append(Finding(severity: .warning, cluster: cluster, message: note))
            }
            if cluster.kind == .emqx {
                result.autoscaling = await autoscaling(object, cluster: cluster)
            }
        } catch let error as KubernetesError where error.code == .notFound {
            findings.append(
                Finding(
                    severity: .error,
                    cluster: cluster,
                    message:
                        "no \(cluster.kind.rawValue) object \(cluster.name) in namespace \(cluster.namespace) (\(plan.objectVersion.map { "\(cluster.kind.resource).\($0.apiVersion)" } ?? cluster.kind.resource)); check the cluster list in the configuration"
                )
            )
        } catch {
            findings.append(
                Finding(
                    severity: .error,
                    cluster: cluster,
                    message: "cannot read the \(cluster.kind.rawValue) object: \(error)"
                )
            )
        }
        return result
    }

    /// Whether an HPA can drive the replicants: only 3.0's scale subresource maps a status field that exists.
    func autoscaling(_ object: ClusterObject, cluster: ClusterReference) async -> String {
        guard object.version == .v3beta1 else {
            return
                "the scale subresource of \(object.version.apiVersion) emqxes reads status.replicantNodeReplicas, which this status does not have: an HPA cannot drive the replicants (EMQX Operator 3.0 can)"
        }
        do {
            let scale = try await discovery.api.emqxScale(
                object.version,
                namespace: cluster.namespace,
                name: cluster.name
            )
            let wanted = scale.spec?.replicas.map(String.init) ?? "unset"
            let have = scale.status?.replicas.map(String.init) ?? "unknown"
            return
                "the scale subresource answers replicas \(wanted) (status \(have), selector \(scale.status?.selector ?? "none")): an HPA can drive the replicants, and the agent rebalances after it scales out"
        } catch {
            return "cannot read the scale subresource (\(error)): grant get on emqxes/scale to see what an HPA sees"
        }
    }
}
