import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import TestSupport
import Testing

/// `demo --serve`, as a user runs it: the world stays up after the scenario, the kubeconfig it writes works with the
/// agent's own Kubernetes client and with `run --once`, and a signal stops it cleanly.
@Suite(
    .serialized,
    .enabled(
        if: CommandLineBinary.url != nil,
        "the emqx-autorebalancer binary was not found next to the test bundle; run `swift build` first"
    )
)
struct DemoServeTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func serveKeepsTheWorldUpWithAWorkingKubeconfigAndStopsOnASignal(signal: Int32) async throws {
        let directory = try CommandLineBinary.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let served = directory.appendingPathComponent("served").path
        let out = directory.appendingPathComponent("stdout")
        let err = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        let process = Process()
        process.executableURL = try #require(CommandLineBinary.url)
        process.arguments = ["demo", "--speed", "30", "--serve-dir", served]
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Only the process this test started.
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // The ready line, after the scenario (generous: a loaded machine runs the demo slowly).
        let deadline = ContinuousClock.now.advanced(by: .seconds(300))
        var output = ""
        while !output.contains("\nserving: "), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            output = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        }
        let stderr = { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }
        try #require(output.contains("\nserving: "), "no ready line; stdout:\n\(output)\nstderr:\n\(stderr())")
        #expect(output.contains("Rebalance "), "the scenario's summary comes first:\n\(output)")
        #expect(output.contains("run --once --config \(served)/agent.yaml --kubeconfig \(served)/kubeconfig"))
        #expect(output.contains("kubectl --kubeconfig \(served)/kubeconfig get emqxenterprises,rebalances -A"))

        // The written kubeconfig, read by the agent's own loader and client, reaches the world the demo left behind.
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let configuration = try KubernetesClientConfiguration.load(
            kubeconfigPath: "\(served)/kubeconfig",
            environment: [:]
        )
        let client = try HTTPKubernetesClient(configuration: configuration, logger: logger)
        let rebalances = try await client.rebalances(namespace: "default", labelSelector: nil)
        try? await client.shutdown()
        #expect(rebalances.map { $0.status?.phase } == ["Completed"], "\(rebalances)")

        // The written agent configuration runs as written.
        let once = try await CommandLineBinary.run([
            "run", "--once", "--config", "\(served)/agent.yaml", "--kubeconfig", "\(served)/kubeconfig",
        ])
        #expect(once.status == 0, "stdout: \(once.stdout)\nstderr: \(once.stderr)")
        #expect(once.stdout.contains("cluster default/emqx-ee"), "\(once.stdout)")
        #expect(once.stdout.contains("source emqx: ok"), "\(once.stdout)")

        // A signal ends it: the servers shut down gracefully, and the process exits 0 (the scenario went as expected).
        kill(process.processIdentifier, signal)
        await ChildProcess.waitForExit(process, timeout: .seconds(60))
        #expect(!process.isRunning)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "stderr:\n\(stderr())")
        #expect(!stderr().contains("Fatal error"), "\(stderr())")
    }
}
