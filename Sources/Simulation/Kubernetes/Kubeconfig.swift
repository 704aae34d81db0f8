import Foundation

extension SimulatedKubernetesAPI {
    /// The kubeconfig text that points a client at this server (`http://127.0.0.1:PORT`, bearer token).
    public func kubeconfig(
        token: String = SimulatedKubernetesAPI.defaultToken,
        namespace: String = "default"
    ) async throws -> String {
        let server = try await baseURL().absoluteString
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: simulated
              cluster:
                server: \(server)
            contexts:
            - name: simulated
              context:
                cluster: simulated
                user: simulated
                namespace: \(namespace)
            current-context: simulated
            users:
            - name: simulated
              user:
                token: \(token)

            """
    }

    /// Writes `kubeconfig(token:namespace:)` to a file (for the agent's `--kubeconfig`).
    public func writeKubeconfig(
        to path: String,
        token: String = SimulatedKubernetesAPI.defaultToken,
        namespace: String = "default"
    ) async throws {
        try Data(try await kubeconfig(token: token, namespace: namespace).utf8).write(to: URL(fileURLWithPath: path))
    }
}
