import AutorebalancerCore
import Foundation

/// `demo --serve`: the simulated world as it stands once the scenario has ended, still serving on loopback, and the
/// files that point a user's own `run --once` and `kubectl` at it.
public struct DemoServedWorld: Sendable {
    /// The simulated Kubernetes API's base URL (`http://127.0.0.1:PORT`).
    public var kubernetesURL: URL
    /// A kubeconfig for it (bearer token, namespace `default`).
    public var kubeconfig: String
    public var namespace: String
    public var name: String
    /// `EMQX` or `EmqxEnterprise`.
    public var kind: String
    /// Each simulated EMQX node's base URL, by node name.
    public var emqxTargets: [String: String]
    /// The API key and secret the simulated nodes accept (what the operator's bootstrap key is for the real thing).
    public var apiKey: String
    public var apiSecret: String
    /// The policy the demo's agent ran, and whether the cluster is acted on through EMQX's API (Operator 3.0).
    public var policyText: String
    public var actsThroughEMQXAPI: Bool

    /// What `kubectl get` lists for this cluster: its EMQX object's resource and where the rebalances are recorded.
    public var kubectlResources: String {
        (kind == "EMQX" ? "emqx" : "emqxenterprises") + (actsThroughEMQXAPI ? ",emqxrebalances" : ",rebalances")
    }

    /// The files `writeFiles(to:)` writes, by name inside the folder.
    public static let kubeconfigFile = "kubeconfig"
    public static let configFile = "agent.yaml"
    public static let policyFile = "policy.yaml"
    public static let apiKeyDirectory = "emqx-api"

    /// The agent configuration for the served cluster: its nodes scraped directly (the simulated nodes stand in for the
    /// pods' addresses), then the EMQX object's status; dry run, so a user's `run` reports and never writes until told.
    /// `directory` is the folder the files are written to: the API key's folder is named by its absolute path, as a
    /// mounted Secret's is.
    public func configuration(directory: String) -> String {
        var lines = [
            "# Written by `emqx-autorebalancer demo --serve`: an agent configuration for the simulated cluster it serves.",
            "apiVersion: autorebalancer.emqx.io/v1alpha1",
            "kind: AgentConfig",
            "listen: 127.0.0.1:0",
            "dryRun: true                    # false: let `run` act on the simulated cluster",
            "leaderElection:",
            "  enabled: false",
            "policies:",
            "  - \(Self.policyFile)",
            "clusters:",
            "  - namespace: \(namespace)",
            "    name: \(name)",
            "    kind: \(kind)",
            "    sources:",
            "      - emqx:",
            "          targets:",
        ]
        lines += emqxTargets.sorted { $0.key < $1.key }.map { "            \"\($0.key)\": \($0.value)" }
        lines.append("      - status")
        if actsThroughEMQXAPI {
            lines += [
                "    emqxAPI:",
                "      targets:",
            ]
            lines += emqxTargets.sorted { $0.key < $1.key }.map { "        \"\($0.key)\": \($0.value)" }
            lines += [
                "      apiKey:",
                "        secretDirectory: \(URL(fileURLWithPath: directory).appendingPathComponent(Self.apiKeyDirectory).path)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the kubeconfig, the agent configuration, the policy it names and (Operator 3.0) the API key's folder;
    /// returns the paths written, kubeconfig and configuration first.
    @discardableResult
    public func writeFiles(to directory: String) throws -> [String] {
        let folder = URL(fileURLWithPath: directory, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var files: [(String, String)] = [
            (Self.kubeconfigFile, kubeconfig), (Self.configFile, configuration(directory: directory)),
            (Self.policyFile, policyText),
        ]
        if actsThroughEMQXAPI {
            try FileManager.default.createDirectory(
                at: folder.appendingPathComponent(Self.apiKeyDirectory),
                withIntermediateDirectories: true
            )
            files += [
                ("\(Self.apiKeyDirectory)/\(EMQXAPIKey.keyField)", apiKey),
                ("\(Self.apiKeyDirectory)/\(EMQXAPIKey.secretField)", apiSecret),
            ]
        }
        return try files.map { name, text in
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url, options: .atomic)
            return url.path
        }
    }
}
