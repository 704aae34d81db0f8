import AutorebalancerCore
import Foundation
import Testing

@testable import Agent

/// `check agent.yaml` loads what the configuration references and reports exactly what `run` reports for it: the
/// same bad configurations go to both, in process and through the binary.
struct CheckAgreesWithRunTests {
    static let policy = """
        apiVersion: autorebalancer.emqx.io/v1alpha1
        kind: Policy
        metadata:
          name: NAME
        spec:
          rules:
            - name: skew
              trigger: skew
              imbalance: {connections: {abs: 2000, rel: 1.5}}
              rebalanceStrategy: {connEvictRate: 50}

        """

    /// One bad configuration: its files (path → text, `agent.yaml` among them) and the located problems it must give.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var files: [String: String]
        /// `FILE:LINE:COL` prefixes (FILE relative to the folder) with a piece of the message each (`DIR` stands for
        /// the folder).
        var expected: [(location: String, message: String)]
        var testDescription: String { name }
    }

    static func config(policies: String, clusterPolicies: String) -> String {
        """
        apiVersion: autorebalancer.emqx.io/v1alpha1
        kind: AgentConfig
        policies: \(policies)
        clusters:
          - namespace: default
            name: emqx
            policies: \(clusterPolicies)

        """
    }

    static let cases: [Case] = [
        Case(
            name: "a missing policy file",
            files: [
                "agent.yaml": config(policies: "[rules/a.yaml, missing.yaml]", clusterPolicies: "[a]"),
                "rules/a.yaml": policy.replacingOccurrences(of: "NAME", with: "a"),
            ],
            expected: [("agent.yaml:3:26", "policies[1]: \"missing.yaml\" (DIR/missing.yaml) does not exist")]
        ),
        Case(
            name: "a cluster naming an unknown policy",
            files: [
                "agent.yaml": config(policies: "[rules]", clusterPolicies: "[a, defualt]"),
                "rules/a.yaml": policy.replacingOccurrences(of: "NAME", with: "a"),
                "rules/default.yaml": policy.replacingOccurrences(of: "NAME", with: "default"),
            ],
            expected: [
                (
                    "agent.yaml:7:19",
                    "clusters[0].policies[1]: no loaded policy is named \"defualt\" (did you mean \"default\"?); loaded: a, default"
                )
            ]
        ),
        Case(
            name: "two policies with one name",
            files: [
                "agent.yaml": config(policies: "[rules]", clusterPolicies: "[]"),
                "rules/a.yaml": policy.replacingOccurrences(of: "NAME", with: "same"),
                "rules/b.yaml": policy.replacingOccurrences(of: "NAME", with: "same"),
            ],
            expected: [("rules/b.yaml:4:9", "policy name \"same\" is already used at DIR/rules/a.yaml:4:9")]
        ),
        Case(
            name: "a policy directory without policies",
            files: ["agent.yaml": config(policies: "[empty]", clusterPolicies: "[]"), "empty/README": "nothing"],
            expected: [
                (
                    "agent.yaml:3:12",
                    "policies[0]: the directory \"empty\" (DIR/empty) holds no *.yaml or *.yml policy files"
                )
            ]
        ),
        Case(
            name: "an invalid policy file",
            files: [
                "agent.yaml": config(policies: "[rules/a.yaml]", clusterPolicies: "[a]"),
                "rules/a.yaml": policy.replacingOccurrences(of: "NAME", with: "a").replacingOccurrences(
                    of: "rel: 1.5",
                    with: "rel: 0.5"
                ),
            ],
            expected: [("rules/a.yaml:9:", "rel")]
        ),
    ]

    /// Writes the case's files into a fresh folder and returns it.
    static func write(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("check-run-\(UUID().uuidString)")
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try Data(text.utf8).write(to: url)
        }
        return directory
    }

    @Test(arguments: cases)
    func checkReportsWhatRunLoads(_ testCase: Case) throws {
        let directory = try Self.write(testCase.files)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configPath = directory.appendingPathComponent("agent.yaml").path
        let loaded = ConfigurationFiles.load(configPath: configPath)
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        let checked = DocumentCheckerRegistry.builtIn.adding(AgentConfigurationChecker()).check(
            text: text,
            file: configPath
        )

        #expect(!loaded.isValid)
        #expect(checked.hasErrors)
        #expect(checked.sortedByLocation() == loaded.diagnostics.sortedByLocation())
        for (location, message) in testCase.expected {
            let prefix = "\(directory.path)/\(location)"
            let message = message.replacingOccurrences(of: "DIR", with: directory.path)
            #expect(
                checked.contains { $0.description.hasPrefix(prefix) && $0.message.contains(message) },
                "no \(prefix) … \(message) in:\n\(checked.map(\.description).joined(separator: "\n"))"
            )
        }
    }

    @Test func aValidConfigurationWithItsPoliciesPassesBoth() throws {
        let directory = try Self.write([
            "config/agent.yaml": Self.config(policies: "[../rules]", clusterPolicies: "[a, b]"),
            "rules/a.yaml": Self.policy.replacingOccurrences(of: "NAME", with: "a"),
            "rules/b.yml": Self.policy.replacingOccurrences(of: "NAME", with: "b"),
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let configPath = directory.appendingPathComponent("config/agent.yaml").path
        let loaded = ConfigurationFiles.load(configPath: configPath)
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        #expect(loaded.policies.map(\.name) == ["a", "b"])
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        #expect(AgentConfigurationChecker().check(text: text, file: configPath).isEmpty)
    }

    /// Through the binary, from the folder holding the files: `check` prints on standard output exactly the lines
    /// `run` prints on standard error before "nothing was started".
    @Test(
        .enabled(
            if: CommandLineBinary.url != nil,
            "the emqx-autorebalancer binary was not found; run `swift build` first"
        ),
        arguments: cases
    )
    func theBinarysCheckAndRunPrintTheSameProblems(_ testCase: Case) async throws {
        let directory = try Self.write(testCase.files)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configPath = directory.appendingPathComponent("agent.yaml").path
        let check = try await CommandLineBinary.run(["check", configPath])
        let run = try await CommandLineBinary.run([
            "run", "--once", "--config", configPath, "--kubeconfig", directory.appendingPathComponent("absent").path,
        ])
        #expect(check.status == 1, "check: \(check.stdout)\(check.stderr)")
        #expect(run.status == 2, "run: \(run.stderr)")
        let checkLines = check.stdout.split(separator: "\n").map(String.init)
        let runLines = run.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix(directory.path) }
        #expect(!checkLines.isEmpty)
        #expect(checkLines == runLines, "check:\n\(check.stdout)\nrun:\n\(run.stderr)")
        #expect(run.stderr.contains("the configuration is invalid; nothing was started"))
    }
}
