import AutorebalancerCore
import Foundation

/// The start-up check: is everything the agent relies on there, and if not, what exactly is wrong.
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

    public let api: any KubernetesAPI

    public init(api: any KubernetesAPI) { self.api = api }

    /// Runs every check and returns every finding (empty when all is well). Never throws: a failed call is a finding.
    public func run(clusters: [ClusterReference]) async -> [Finding] {
        var findings: [Finding] = []
        do {
            let served = try await api.servedResources(groupVersion: "apps.emqx.io/v2beta1")
            if !served.contains(Rebalance.resource) {
                findings.append(Finding(
                    severity: .error, cluster: nil,
                    message: "the API server serves apps.emqx.io/v2beta1 but not its rebalances resource: EMQX Operator 2.2 or newer with the Rebalance CRD is required"
                ))
            }
        } catch let error as KubernetesError where error.code == .notFound {
            findings.append(Finding(
                severity: .error, cluster: nil,
                message: "apps.emqx.io/v2beta1 is not served: the agent needs EMQX Operator 2.2 or newer (2.1.x serves Rebalance only as v1beta4, which cannot target EmqxEnterprise). Upgrade the operator and its CRDs."
            ))
        } catch {
            findings.append(Finding(severity: .error, cluster: nil, message: "cannot check the Rebalance API (discovery of apps.emqx.io/v2beta1): \(error)"))
        }

        for cluster in clusters {
            do {
                let object = try await ClusterObject.fetch(cluster, from: api)
                let reading = ClusterReading.read(object)
                switch reading.facts.enterprise {
                case false?:
                    findings.append(Finding(
                        severity: .error, cluster: cluster,
                        message: "the nodes report the open-source edition: rebalance is an EMQX Enterprise feature, so Rebalances would fail"
                    ))
                case nil:
                    findings.append(Finding(
                        severity: .warning, cluster: cluster,
                        message: "the edition is not known yet (status lists no nodes or no edition); rebalance needs EMQX Enterprise"
                    ))
                default:
                    break
                }
                if let note = EMQXStatusSource.compatibilityNote(for: cluster.kind) {
                    findings.append(Finding(severity: .warning, cluster: cluster, message: note))
                }
            } catch let error as KubernetesError where error.code == .notFound {
                findings.append(Finding(
                    severity: .error, cluster: cluster,
                    message: "no \(cluster.kind.rawValue) object \(cluster.name) in namespace \(cluster.namespace) (\(cluster.kind.resource).\(cluster.kind.apiVersion)); check the cluster list in the configuration"
                ))
            } catch {
                findings.append(Finding(severity: .error, cluster: cluster, message: "cannot read the \(cluster.kind.rawValue) object: \(error)"))
            }
        }
        return findings
    }
}
