import Foundation
import Testing

@testable import Kubernetes

struct KubeconfigTests {
    static let basic = """
        apiVersion: v1
        kind: Config
        current-context: prod
        clusters:
        - name: prod-cluster
          cluster:
            server: https://10.0.0.1:6443
            certificate-authority-data: \(Data("CA-PEM".utf8).base64EncodedString())
        - name: dev-cluster
          cluster:
            server: http://127.0.0.1:8080
            insecure-skip-tls-verify: true
        users:
        - name: prod-user
          user:
            token: s3cr3t
        - name: cert-user
          user:
            client-certificate-data: \(Data("CERT".utf8).base64EncodedString())
            client-key: keys/client.key
        contexts:
        - name: prod
          context: {cluster: prod-cluster, user: prod-user, namespace: emqx}
        - name: dev
          context: {cluster: dev-cluster, user: cert-user}
        """

    @Test func currentContextWithTokenAndCAData() async throws {
        let config = try Kubeconfig.parse(Self.basic, path: "/nowhere/config", environment: [:]).configuration()
        #expect(config.server == "https://10.0.0.1:6443")
        #expect(config.namespace == "emqx")
        #expect(config.certificateAuthorityPEM == Array("CA-PEM".utf8))
        #expect(try await config.tokenProvider?.token() == "s3cr3t")
        #expect(config.insecureSkipTLSVerify == false)
        #expect(config.warnings.isEmpty)
    }

    @Test func explicitContextWithClientCertificateFileRelativeToKubeconfig() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/keys", withIntermediateDirectories: true)
        try dir.write("keys/client.key", "KEY")
        let path = try dir.write("config", Self.basic)
        let config = try Kubeconfig.load(paths: [path], environment: [:]).configuration(context: "dev")
        #expect(config.server == "http://127.0.0.1:8080")
        #expect(config.clientCertificate == .init(certificatePEM: Array("CERT".utf8), keyPEM: Array("KEY".utf8)))
        #expect(config.tokenProvider == nil)
        #expect(config.insecureSkipTLSVerify)
        #expect(config.warnings.contains { $0.contains("INSECURE") && $0.contains("dev-cluster") })
    }

    @Test func unknownContextNamesTheKnownOnes() throws {
        let error = #expect(throws: KubernetesError.self) {
            try Kubeconfig.parse(Self.basic, path: "/x/config", environment: [:]).configuration(context: "staging")
        }
        #expect(error?.description.contains("no context \"staging\"") == true)
        #expect(error?.description.contains("dev, prod") == true)
    }

    @Test func mergedFilesFirstDefinitionWins() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try dir.write(
            "a",
            """
            current-context: a
            clusters: [{name: c, cluster: {server: "https://first:6443"}}]
            users: [{name: u, user: {token: one}}]
            contexts: [{name: a, context: {cluster: c, user: u}}]
            """
        )
        let second = try dir.write(
            "b",
            """
            current-context: b
            clusters: [{name: c, cluster: {server: "https://second:6443"}}]
            contexts: [{name: b, context: {cluster: c, user: u}}]
            """
        )
        let config = try Kubeconfig.load(paths: [first, dir.path + "/missing", second], environment: [:])
        #expect(config.currentContext == "a")
        #expect(try config.configuration(context: "b").server == "https://first:6443")
    }

    @Test func loadPrefersExplicitPathThenInClusterThenKUBECONFIG() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/keys", withIntermediateDirectories: true)
        try dir.write("keys/client.key", "KEY")
        let path = try dir.write("config", Self.basic)
        let viaEnv = try KubernetesClientConfiguration.load(environment: ["KUBECONFIG": path])
        #expect(viaEnv.server == "https://10.0.0.1:6443")
        let explicit = try KubernetesClientConfiguration.load(
            kubeconfigPath: path,
            context: "dev",
            environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1"]
        )
        #expect(explicit.server == "http://127.0.0.1:8080")
    }

    @Test func execPluginTokenIsCachedUntilExpiry() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // The plugin counts its runs in a file and prints an ExecCredential, as aws eks get-token does.
        try dir.write(
            "get-token",
            """
            #!/bin/sh
            echo run >> "$COUNT_FILE"
            n=$(wc -l < "$COUNT_FILE" | tr -d ' ')
            test "$1" = "--cluster" || exit 3
            test -n "$KUBERNETES_EXEC_INFO" || exit 4
            printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"tok-%s-%s","expirationTimestamp":"2030-01-01T00:10:00Z"}}' "$2" "$n"
            """,
            executable: true
        )
        let kubeconfig = """
            current-context: eks
            clusters: [{name: eks, cluster: {server: "https://eks.example:443"}}]
            contexts: [{name: eks, context: {cluster: eks, user: eks}}]
            users:
            - name: eks
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: ./get-token
                  args: ["--cluster", "prod"]
                  env: [{name: COUNT_FILE, value: "\(dir.path)/count"}]
            """
        let path = try dir.write("config", kubeconfig)
        let config = try Kubeconfig.load(paths: [path], environment: ["PATH": "/usr/bin:/bin"]).configuration()
        let provider = try #require(config.tokenProvider as? ExecCredentialProvider)
        #expect(try await provider.token() == "tok-prod-1")
        #expect(try await provider.token() == "tok-prod-1")  // cached: expiry is in 2030

        // With a clock past the expiry, the plugin runs again.
        let later = ExecCredentialProvider(
            command: provider.command,
            environment: ["PATH": "/usr/bin:/bin"],
            workingDirectory: dir.path,
            now: { Date(timeIntervalSince1970: 1_893_456_600 + 3600) }
        )
        #expect(try await later.token() == "tok-prod-2")
        #expect(try await later.token() == "tok-prod-3")
    }

    @Test func execPluginFailureSaysWhatFailed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("fail", "#!/bin/sh\necho 'token expired, run aws sso login' >&2\nexit 1\n", executable: true)
        let provider = ExecCredentialProvider(
            command: .init(command: "./fail", installHint: "install the aws CLI"),
            environment: [:],
            workingDirectory: dir.path
        )
        let error = await #expect(throws: KubernetesError.self) { try await provider.token() }
        #expect(
            error?.description.contains("failed (exit status 1); it said: token expired, run aws sso login") == true
        )
        #expect(error?.description.contains("install the aws CLI") == true)
    }

    /// A plugin that cannot run is named with what to fix, never with Foundation's error type.
    @Test func execPluginThatCannotStartSaysWhatToFix() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("plain", "#!/bin/sh\necho hi\n", executable: false)
        let cases: [(command: String, says: String)] = [
            (
                "./missing-plugin",
                "\"\(dir.path)/./missing-plugin\" does not exist: install it there or correct users[].user.exec.command"
            ),
            ("./plain", "\"\(dir.path)/./plain\" is not executable: chmod +x it"),
            (
                "no-such-credential-plugin",
                "\"no-such-credential-plugin\" was not found on PATH: install it or give its full path"
            ),
        ]
        for (command, says) in cases {
            let provider = ExecCredentialProvider(
                command: .init(command: command),
                environment: ["PATH": "/usr/bin:/bin"],
                workingDirectory: dir.path
            )
            let error = await #expect(throws: KubernetesError.self) { try await provider.token() }
            let text = error?.description ?? ""
            #expect(text.contains(says), "\(command): \(text)")
            #expect(
                !text.contains("Error Domain") && !text.contains("CocoaError") && !text.contains("NSError"),
                "\(text)"
            )
        }
    }
}
