import AutorebalancerCore
import Demo
import Foundation
import Logging
import Simulation
import TestSupport
import Testing

@testable import Agent

/// The built `emqx-autorebalancer` binary, run as a user runs it: `demo --format json` and `run --once` against a
/// simulated world started by the test (EMQX nodes, Kubernetes API, operator on loopback).
@Suite(
    .serialized,
    .enabled(
        if: CommandLineBinary.url != nil,
        "the emqx-autorebalancer binary was not found next to the test bundle; run `swift build` first"
    )
)
struct CommandLineTests {
    @Test func demoJSONPrintsObjectsAndEndsWithTheSummary() async throws {
        let result = try await CommandLineBinary.run(["demo", "--format", "json", "--speed", "30"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        #expect(lines.count > 2)
        for line in lines.dropLast() {
            #expect(
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any],
                "not a JSON object: \(line)"
            )
        }
        let last = try #require(lines.last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        #expect(Set(["scenario", "before", "after", "rebalances", "times"]).isSubset(of: Set(object.keys)))
        let summary = try JSONDecoder().decode(DemoSummary.self, from: Data(last.utf8))
        #expect(summary.scenario == "scale-out")
        #expect(summary.after.values.map(\.connections).sorted() == [2340, 2553, 2553, 2554])
        #expect(summary.rebalances.map(\.phase) == ["Completed"])
        // Progress lines carry the phases the display shows, from observing to done.
        #expect(lines.contains { $0.contains(#""phase":"observing""#) }, "stdout:\n\(result.stdout)")
        #expect(
            lines.contains { $0.contains(#""decision":{"#) },
            "stdout:\n\(result.stdout)\nstderr:\n\(result.stderr)"
        )
    }

    @Test func runOnceOnAScaleOutInProgressPrintsEveryRuleAndExitsZero() async throws {
        try await SimulatedWorld.withSeedCluster { world in
            let config = try world.writeConfig(targets: world.targets)
            let result = try await CommandLineBinary.run([
                "run", "--once", "--config", config, "--kubeconfig", world.kubeconfig,
            ])
            #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            let out = result.stdout
            #expect(out.contains("cluster default/emqx-ee"))
            #expect(out.contains("source emqx: ok"))
            #expect(out.contains("live 0, sessions 0"), "the joined node at 0: \(out)")
            #expect(out.contains("policy demo"))
            // Every rule of the policy with its trigger, action and phase.
            let lines = out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let phases = RuleState.allCases.map(\.rawValue)
            for (rule, trigger) in [("scale-out", "scaleOut"), ("restart", "restart"), ("skew", "skew")] {
                let line = lines.first { $0.hasPrefix("\(rule) [\(trigger), rebalance]: ") }
                #expect(line != nil, "rule \(rule) missing from:\n\(out)")
                let phase = line?.dropFirst("\(rule) [\(trigger), rebalance]: ".count).prefix { $0 != "," && $0 != " " }
                #expect(phase.map { phases.contains(String($0)) } == true, "no phase in \(line ?? "")")
            }
            #expect(lines.contains("scale-out [scaleOut, rebalance]: inactive"))
            #expect(lines.contains("skew [skew, rebalance]: pending, 20s left on for"))
            // The node list appears for the first time in this one cycle: the new node is no join yet.
            #expect(lines.contains("why not: not-triggered: no node joined in the last 10m"))
            #expect(lines.contains("why not: pending: for not yet elapsed: 0s of 20s"))
            // The formula with the node counts, and the reason nothing is done yet.
            #expect(out.contains("connections: avg(3333,3333,3334)=3333.3 > 0*1.2=0.0 and > 0+200=200.0 (imbalanced)"))
            // `--once` never writes.
            #expect(world.api.rebalances(namespace: "default").isEmpty)
        }
    }

    @Test func runOnceExitsOneWhenTheEMQXNodesAreUnreachable() async throws {
        try await SimulatedWorld.withSeedCluster { world in
            // Port 1 on loopback: nothing listens there, every scrape is refused.
            let unreachable = world.targets.mapValues { _ in "http://127.0.0.1:1" }
            let config = try world.writeConfig(targets: unreachable, timeout: "1s")
            let result = try await CommandLineBinary.run([
                "run", "--once", "--config", config, "--kubeconfig", world.kubeconfig,
            ])
            #expect(result.status == 1, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            #expect(result.stdout.contains("source emqx: failed"))
        }
    }

    @Test func checkWithAKubeconfigPrintsOneLinePerClusterWithoutRunning() async throws {
        try await SimulatedWorld.withSeedCluster { world in
            let config = try world.writeConfig(targets: world.targets)
            let result = try await CommandLineBinary.run(["check", "--kubeconfig", world.kubeconfig, config])
            #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(
                lines.contains {
                    $0.hasPrefix("API server: EMQX Operator 2.2 (serves apps.emqx.io/v2beta1, apps.emqx.io/v1beta4")
                        || $0.hasPrefix(
                            "API server: EMQX Operator 2.2 (serves apps.emqx.io/v1beta4, apps.emqx.io/v2beta1"
                        )
                },
                "\(result.stdout)"
            )
            #expect(
                lines.contains(
                    "cluster default/emqx-ee (EmqxEnterprise): EMQX Operator 2.2 (apps.emqx.io/v1beta4), EMQX 4.4.19, source emqx, creates apps.emqx.io/v2beta1 Rebalances"
                ),
                "\(result.stdout)"
            )
            #expect(world.api.rebalances(namespace: "default").isEmpty)
        }
    }

    /// The case the status source exists for: a node that just joined has no count keys at all on 2.2 (`omitempty`).
    @Test func runOnceWithTheStatusSourceReadsTheOmittedCountsOfANewNodeAsZeroAndSaysSo() async throws {
        try await SimulatedWorld.withSeedCluster(emqx5: true) { world in
            let config = try world.writeConfig(targets: [:], kind: "EMQX", name: "emqx", statusSource: true)
            let result = try await CommandLineBinary.run([
                "run", "--once", "--config", config, "--kubeconfig", world.kubeconfig,
            ])
            #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            let out = result.stdout
            #expect(
                out.contains(
                    "cluster default/emqx (EMQX): EMQX Operator 2.2 (apps.emqx.io/v2beta1), EMQX 5.8.6, source status, creates apps.emqx.io/v2beta1 Rebalances"
                ),
                "\(out)"
            )
            #expect(out.contains("read as 0, the operator omits zero counts"), "\(out)")
            #expect(out.contains("live 0, sessions 0"), "\(out)")
            #expect(!out.contains("missing-data"), "\(out)")
        }
    }

    @Test func checkWithAKubeconfigOnOperator30SaysAlertOnlyAndWhatAnHPACanDo() async throws {
        try await SimulatedWorld.withSeedCluster(generation: .v3_0) { world in
            let config = try world.writeConfig(targets: world.targets, kind: "EMQX", name: "emqx")
            let result = try await CommandLineBinary.run(["check", "--kubeconfig", world.kubeconfig, config])
            #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            let out = result.stdout
            #expect(
                out.contains(
                    "cluster default/emqx (EMQX): EMQX Operator 3.0 (apps.emqx.io/v3beta1), EMQX 6.0.1, source emqx, alert-only: EMQX Operator 3.0 has no Rebalance resource; "
                ),
                "\(out)"
            )
            #expect(out.contains("autoscaling: the scale subresource answers replicas 0 (status 0"), "\(out)")
            #expect(out.contains("warning: alert-only: EMQX Operator 3.0 has no Rebalance resource"), "\(out)")
        }
    }

    /// Usage errors are found before the demo starts: exit 2 at once, naming what to fix, nothing written.
    @Test(arguments: [
        (["--plot", "x.png"], "name the file .svg or .html"),
        (["--plot", "/nonexistent/x.svg"], "the folder /nonexistent does not exist"),
        (["--speed", "0"], "more than 0 and at most 1000"),
        (["--policy", "/nonexistent/policy.yaml"], "cannot read the file"),
        (["--serve-dir", "/dev/null"], "a file of that name exists; name a folder"),
    ])
    func demoUsageErrorsExitTwoBeforeTheDemoStarts(arguments: [String], message: String) async throws {
        let result = try await CommandLineBinary.run(["demo"] + arguments, timeout: .seconds(60))
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(!result.stdout.contains("simulated time"), "the demo must not have started: \(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: "x.png"))
    }

    @Test func runWithAnInvalidConfigExitsTwoWithLocatedDiagnostics() async throws {
        let directory = try CommandLineBinary.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("agent.yaml")
        try Data(DemoPolicy.text.utf8).write(to: directory.appendingPathComponent("demo.yaml"))
        try Data(
            """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            policies: [demo.yaml]
            clusters:
              - namespace: default
                name: emqx-ee
                kind: EmqxEnterprize

            """.utf8
        ).write(to: config)
        let result = try await CommandLineBinary.run([
            "run", "--once", "--config", config.path, "--kubeconfig", directory.appendingPathComponent("absent").path,
        ])
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("\(config.path):7:"), "no FILE:LINE:COL diagnostic in: \(result.stderr)")
        let located = result.stderr.split(separator: "\n").first { $0.hasPrefix("\(config.path):7:") }
        let parts = located.map { $0.dropFirst(config.path.count + 1).split(separator: ":", maxSplits: 2) } ?? []
        #expect(parts.count == 3 && Int(parts[1]) != nil, "expected FILE:LINE:COL: in \(located ?? "")")
        #expect(result.stderr.contains("EmqxEnterprise"))
        #expect(result.stdout.isEmpty)
    }
}

/// The seed cluster mid scale-out (3333/3333/3334 and a node that just joined at 0), the simulated Kubernetes API
/// with its EmqxEnterprise object, and the operator's view of it, all on loopback; plus the files `run` needs.
struct SimulatedWorld: Sendable {
    let cluster: SimulatedEMQXCluster
    let api: SimulatedKubernetesAPI
    let directory: URL
    let kubeconfig: String

    var targets: [String: String] { cluster.endpoints.mapValues(\.absoluteString) }

    /// With `generation` 2.3 or 3.0, the same four nodes as an EMQX 6.0.1 `EMQX` object `default/emqx` (those
    /// operators serve no EmqxEnterprise).
    /// `emqx5` (default on 2.3 and 3.0) plays it as an EMQX 5 `EMQX` object on 2.2.
    static func withSeedCluster(
        generation: OperatorGeneration = .v2_2,
        emqx5: Bool? = nil,
        _ body: @Sendable (SimulatedWorld) async throws -> Void
    ) async throws {
        let quiet = Logger(label: "simulation") { _ in SwiftLogNoOpLogHandler() }
        var configuration = SimulatedEMQXConfiguration.seedScenario()
        let emqx5 = emqx5 ?? (generation != .v2_2)
        if emqx5 {
            configuration = SimulatedEMQXConfiguration(
                name: "emqx",
                kind: .emqx,
                nodes: configuration.nodes,
                version: generation == .v2_2 ? "5.8.6" : "6.0.1"
            )
        }
        let cluster = SimulatedEMQXCluster(configuration: configuration, logger: quiet)
        try await cluster.start()
        let directory = try CommandLineBinary.temporaryDirectory()
        do {
            let api = SimulatedKubernetesAPI(configuration: .init(operatorGeneration: generation), logger: quiet)
            try await api.withRunning { api in
                let credentials = cluster.configuration.credentials
                api.addEMQX(
                    EMQXBinding(
                        kind: emqx5 ? .emqx : .emqxEnterprise,
                        name: cluster.configuration.name,
                        endpoints: cluster.endpoints,
                        username: credentials.key,
                        password: credentials.secret
                    )
                )
                api.setEMQXPodControl(namespace: "default", name: cluster.configuration.name, .cluster(cluster))
                let simulatedOperator = SimulatedEMQXOperator(
                    api: api,
                    clock: SimulationClock(speed: 1000),
                    configuration: .init(rebalancePollInterval: .zero, emqxRefreshInterval: .zero),
                    logger: quiet
                )
                await simulatedOperator.reconcileOnce()
                let kubeconfig = directory.appendingPathComponent("kubeconfig").path
                try await api.writeKubeconfig(to: kubeconfig)
                try Data(DemoPolicy.text.utf8).write(to: directory.appendingPathComponent("demo.yaml"))
                try await body(SimulatedWorld(cluster: cluster, api: api, directory: directory, kubeconfig: kubeconfig))
            }
        } catch {
            await cluster.stop()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        await cluster.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// An agent config watching default/emqx-ee with the demo policy and a direct scrape of `targets`.
    /// `statusSource` reads the counts from the EMQX object's status instead.
    func writeConfig(
        targets: [String: String],
        timeout: String = "5s",
        kind: String = "EmqxEnterprise",
        name: String = "emqx-ee",
        statusSource: Bool = false
    ) throws -> String {
        let lines = targets.sorted { $0.key < $1.key }.map { "              \"\($0.key)\": \"\($0.value)\"" }
        // Indented as the list under `sources:` (6 spaces), the targets under `targets:` (14, as `lines` are).
        let sources =
            statusSource
            ? "      - status: {}"
            : "      - emqx:\n          timeout: \(timeout)\n          targets:\n" + lines.joined(separator: "\n")
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            listen: 127.0.0.1:0
            leaderElection: {enabled: false}
            policies: [demo.yaml]
            clusters:
              - namespace: default
                name: \(name)
                kind: \(kind)
                sources:
            \(sources)

            """
        let path = directory.appendingPathComponent("agent.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

enum CommandLineBinary {
    /// The built executable: next to the test bundle, else in the package's `.build/debug`.
    static let url: URL? = {
        let name = "emqx-autorebalancer"
        let bundle = Bundle.main.bundleURL
        let candidates = [
            bundle.appendingPathComponent(name),
            bundle.deletingLastPathComponent().appendingPathComponent(name),
            URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent().appendingPathComponent(
                name
            ),
            PackagePaths.root.appendingPathComponent(".build/debug").appendingPathComponent(name),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "emqx-autorebalancer-cli-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Runs the binary to completion (stopped after `timeout`), without blocking a thread of the cooperative pool.
    static func run(_ arguments: [String], timeout: Duration = .seconds(120)) async throws -> ChildProcess.Result {
        try await ChildProcess.run(try #require(url), arguments, timeout: timeout)
    }
}
