import Foundation
import Testing

@testable import Kubernetes

/// A kubeconfig that cannot be used says which file, which line and key, and what was expected, never Swift's
/// `DecodingError` dump.
struct KubeconfigProblemTests {
    @Test(arguments: [
        (
            "hello world\n",
            "kubeconfig bad.yaml:1:1: expected a kubeconfig (a mapping with apiVersion: v1, kind: Config, clusters, users, contexts), got \"hello world\""
        ),
        ("clusters: 5\n", "kubeconfig bad.yaml:1:11: clusters: expected a list, got \"5\""),
        (
            "clusters:\n- name: c\n  cluster:\n    server: [a, b]\n",
            "kubeconfig bad.yaml:4:13: clusters[0].cluster.server: expected a single value (a string or a number), got a list"
        ),
        ("clusters:\n- cluster: {server: https://x}\n", "kubeconfig bad.yaml:2:3: clusters[0].name: required, missing"),
        ("contexts: [\n", "kubeconfig bad.yaml:2:1: YAML syntax: "),
        (
            "clusters:\n- name: c\n  cluster:\n    insecure-skip-tls-verify: sometimes\n",
            "kubeconfig bad.yaml:4:31: clusters[0].cluster.insecure-skip-tls-verify: expected true or false"
        ),
    ])
    func aBadKubeconfigNamesFileLineAndWhatWasExpected(_ text: String, _ message: String) throws {
        do {
            _ = try Kubeconfig.parse(text, path: "bad.yaml", environment: [:])
            Issue.record("no error for \(text)")
        } catch let error as KubernetesError {
            let description = error.description
            #expect(description.contains(message), "\(description)")
            for leaked in ["DecodingError", "Debug description", "CodingKeys", "Context(", "Yams"] {
                #expect(!description.contains(leaked), "\(leaked) in: \(description)")
            }
        }
    }

    @Test func anEmptyKubeconfigIsAnEmptyConfigurationAsForKubectl() throws {
        let config = try Kubeconfig.parse("\n", path: "empty.yaml", environment: [:])
        #expect(throws: KubernetesError.self) { try config.configuration() }
        do {
            _ = try config.configuration()
        } catch {
            #expect("\(error)".contains("has no current-context"), "\(error)")
        }
    }
}
