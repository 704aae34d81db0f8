import Foundation

/// The configuration of a pod's service account: `KUBERNETES_SERVICE_HOST`/`_PORT`, and the token, CA bundle and
/// namespace files the kubelet mounts. The token is re-read whenever the file changes (projected tokens rotate).
public enum InClusterConfiguration {
    public static let defaultServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// - Parameters:
    ///   - environment: the process environment, as a value.
    ///   - serviceAccountDirectory: holds `token`, `ca.crt` and `namespace`.
    public static func load(
        environment: [String: String],
        serviceAccountDirectory: String = defaultServiceAccountDirectory
    ) throws -> KubernetesClientConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw KubernetesError.configuration(
                "not running in a pod: KUBERNETES_SERVICE_HOST is not set; pass --kubeconfig to run outside the cluster"
            )
        }
        let port = environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host  // IPv6 literal
        let tokenPath = "\(serviceAccountDirectory)/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubernetesError.configuration(
                "the service-account token \(tokenPath) is missing or unreadable: is automountServiceAccountToken disabled for this pod?"
            )
        }
        let caPath = "\(serviceAccountDirectory)/ca.crt"
        guard let ca = FileManager.default.contents(atPath: caPath) else {
            throw KubernetesError.configuration("the service-account CA bundle \(caPath) is missing or unreadable")
        }
        let namespace = FileManager.default.contents(atPath: "\(serviceAccountDirectory)/namespace")
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            .flatMap { $0.isEmpty ? nil : $0 }
        var configuration = KubernetesClientConfiguration(
            server: "https://\(hostPart):\(port)",
            namespace: namespace,
            tokenProvider: FileTokenProvider(path: tokenPath),
            certificateAuthorityPEM: Array(ca),
            origin: "in-cluster service account (\(serviceAccountDirectory))"
        )
        configuration.certificateAuthorityOrigin = caPath
        return configuration
    }
}
