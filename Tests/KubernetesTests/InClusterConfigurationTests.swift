import Foundation
import Testing

@testable import Kubernetes

struct InClusterConfigurationTests {
    @Test func readsServiceAccountFilesAndEnvironment() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("token", "token-1\n")
        try dir.write("ca.crt", "CA")
        try dir.write("namespace", "emqx-system\n")
        let config = try InClusterConfiguration.load(
            environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "6443"],
            serviceAccountDirectory: dir.path
        )
        #expect(config.server == "https://10.96.0.1:6443")
        #expect(config.namespace == "emqx-system")
        #expect(config.certificateAuthorityPEM == Array("CA".utf8))
        #expect(try await config.tokenProvider?.token() == "token-1")
    }

    @Test func ipv6HostIsBracketed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("token", "t")
        try dir.write("ca.crt", "CA")
        let config = try InClusterConfiguration.load(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00::1"],
            serviceAccountDirectory: dir.path
        )
        #expect(config.server == "https://[fd00::1]:443")
        #expect(config.namespace == nil)
    }

    @Test func missingTokenSaysWhy() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let error = #expect(throws: KubernetesError.self) {
            try InClusterConfiguration.load(
                environment: ["KUBERNETES_SERVICE_HOST": "10.0.0.1"],
                serviceAccountDirectory: dir.path
            )
        }
        #expect(error?.description.contains("automountServiceAccountToken") == true)
        #expect(throws: KubernetesError.self) {
            try InClusterConfiguration.load(environment: [:], serviceAccountDirectory: dir.path)
        }
    }

    @Test func rotatedTokenFileIsReRead() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("token", "old")
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 1_000)],
            ofItemAtPath: path
        )
        let provider = FileTokenProvider(path: path)
        #expect(try await provider.token() == "old")
        try dir.write("token", "new")
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 2_000)],
            ofItemAtPath: path
        )
        #expect(try await provider.token() == "new")
    }
}
