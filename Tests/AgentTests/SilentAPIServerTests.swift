import Demo
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// An API server that accepts connections and never answers: `run --once` ends its cycle within the budget, saying
/// the API server did not answer, instead of being cut off while the requests wait out their retries.
@Suite(
    .enabled(
        if: CommandLineBinary.url != nil,
        "the emqx-autorebalancer binary was not found next to the test bundle; run `swift build` first"
    )
)
struct SilentAPIServerTests {
    @Test func runOnceAgainstAnAPIServerThatNeverAnswersEndsWithThatReason() async throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let directory = try CommandLineBinary.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let kubeconfig = directory.appendingPathComponent("kubeconfig").path
        try Data(
            """
            apiVersion: v1
            kind: Config
            clusters: [{name: silent, cluster: {server: "http://127.0.0.1:\(silent.port)"}}]
            users: [{name: silent, user: {token: t}}]
            contexts: [{name: silent, context: {cluster: silent, user: silent, namespace: default}}]
            current-context: silent

            """.utf8
        ).write(to: URL(fileURLWithPath: kubeconfig))
        try Data(DemoPolicy.text.utf8).write(to: directory.appendingPathComponent("policy.yaml"))
        let config = directory.appendingPathComponent("agent.yaml").path
        try Data(
            """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            listen: 127.0.0.1:0
            leaderElection: {enabled: false}
            policies: [policy.yaml]
            clusters:
              - {namespace: default, name: emqx-ee, kind: EmqxEnterprise, sources: [status]}

            """.utf8
        ).write(to: URL(fileURLWithPath: config))

        // Generous: the default budget is 20 s; the bound only catches a run that never ends.
        let result = try await CommandLineBinary.run(
            ["run", "--once", "--config", config, "--kubeconfig", kubeconfig],
            timeout: .seconds(240)
        )
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("the API server did not answer within"), "\(result.output)")
        #expect(
            result.output.range(of: #"the cycle's budget of \d+s"#, options: .regularExpression) != nil,
            "\(result.output)"
        )
        #expect(
            !result.output.contains("did not finish within its budget"),
            "ended by the request's own reason: \(result.output)"
        )
    }
}

/// A loopback TCP listener that never accepts or reads: the kernel completes each handshake into its backlog, so a
/// client's connection succeeds and its request is never answered.
final class SilentListener: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) }
        }
        guard fd >= 0, bound == 0, listen(fd, 64) == 0 else {
            if fd >= 0 { _ = Glibc.close(fd) }
            throw CocoaError(
                .fileReadUnknown,
                userInfo: [NSLocalizedDescriptionKey: "cannot listen on 127.0.0.1: errno \(errno)"]
            )
        }
        var length = size
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
