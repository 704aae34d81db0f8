import Agent
import ArgumentParser
import AutorebalancerCore
import Foundation
import Kubernetes

/// `check FILE...`: validates policy, policy-test (and other registered) files; every problem at once. With
/// `--kubeconfig`, also checks each agent configuration's clusters against that Kubernetes API, without running.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract:
            "Validate policy, policy-test and agent-config files: every problem as FILE:LINE:COL: error|warning: message.",
        discussion: """
            The document's `kind:` selects the checker. An agent config (kind: AgentConfig) is loaded as `run` loads \
            it, with the policy files and directories it names, and reports what `run` would. Exits 0 when there is \
            no error (warnings allowed), 1 on any error.

            With --kubeconfig <file>, every valid AgentConfig file is also checked against that API server: what it \
            serves in apps.emqx.io (the EMQX Operator generation), and per watched cluster the line `run --once` prints \
            (generation, EMQX versions, metric source, how the agent acts), what an HPA can do there, and what is \
            missing. Nothing is written.

            Examples:
              emqx-autorebalancer check agent.yaml rules/*.yaml
              emqx-autorebalancer check --format json rules/default.yaml \\
                | jq '.[] | select(.severity == "error")'
              emqx-autorebalancer check --kubeconfig ~/.kube/config agent.yaml
            """
    )

    @Option(
        help: ArgumentHelp(
            "Also check each AgentConfig file's clusters against the Kubernetes API of this kubeconfig (read only).",
            valueName: "file"
        )
    )
    var kubeconfig: String?

    @Option(
        help: ArgumentHelp("The kubeconfig context for --kubeconfig (default: its current-context).", valueName: "name")
    )
    var context: String?

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Option(
        help: ArgumentHelp(
            "Output format: text or json (one array of {file,line,column,severity,message}).",
            valueName: "format"
        )
    )
    var format: Format = .text

    @Argument(help: ArgumentHelp("The files to check (kind: Policy, PolicyTest or AgentConfig).", valueName: "file"))
    var files: [String]

    /// The checkers for every kind the binary knows; other kinds plug in here.
    static var registry: DocumentCheckerRegistry { DocumentCheckerRegistry.builtIn.adding(AgentConfigurationChecker()) }

    func run() async throws {
        var diagnostics: [Diagnostic] = []
        // An agent config reports the problems of the policy files it loads; `check agent.yaml rules/*.yaml` names
        // those files twice, and each problem is shown once.
        var seen: Set<Diagnostic> = []
        for file in files {
            let text: String
            switch TextFile.read(file) {
            case .success(let read): text = read
            case .failure(let problem):
                diagnostics.append(
                    Diagnostic(
                        .error,
                        at: SourceLocation(file: file, line: 1, column: 1),
                        "cannot read the file: it \(problem)"
                    )
                )
                continue
            }
            diagnostics += Self.registry.check(text: text, file: file).sortedByLocation().filter {
                seen.insert($0).inserted
            }
        }
        switch format {
        case .text:
            // Messages quote the files (keys, URLs): printed safe, like log lines.
            for diagnostic in diagnostics { print(SafeText.forLog(diagnostic.description)) }
            let errors = diagnostics.filter { $0.severity == .error }.count
            let warnings = diagnostics.count - errors
            FileHandle.standardError.write(
                Data("\(files.count) file(s) checked: \(errors) error(s), \(warnings) warning(s)\n".utf8)
            )
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
            print(String(decoding: try encoder.encode(diagnostics), as: UTF8.self))
        }
        var clustersFailed = false
        if let kubeconfig, !diagnostics.hasErrors {
            clustersFailed = try await checkClusters(kubeconfig: kubeconfig)
        }
        if diagnostics.hasErrors || clustersFailed { throw ExitCode(1) }
    }

    /// Checks the clusters of every AgentConfig file; `true` when any check found an error.
    func checkClusters(kubeconfig: String) async throws -> Bool {
        let configurations = files.compactMap { file -> (String, AgentConfiguration)? in
            guard let text = try? String(contentsOfFile: file, encoding: .utf8), text.contains(AgentConfiguration.kind)
            else { return nil }
            let loaded = ConfigurationFiles.load(configPath: file)
            return loaded.configuration.map { (file, $0) }
        }
        guard !configurations.isEmpty else {
            FileHandle.standardError.write(
                Data("--kubeconfig: none of the files is an AgentConfig; no cluster was checked\n".utf8)
            )
            return false
        }
        let client: HTTPKubernetesClient
        do {
            let settings = try KubernetesClientConfiguration.load(
                kubeconfigPath: kubeconfig,
                context: context,
                environment: ProcessInfo.processInfo.environment
            )
            client = try HTTPKubernetesClient(configuration: settings, logger: LoggingOptions.quietLogger)
        } catch {
            print(
                "error: \(error is KubernetesError ? "" : "cannot configure the Kubernetes client from \(kubeconfig): ")\(SafeText.forLog("\(error)"))"
            )
            return true
        }
        var failed = false
        for (file, configuration) in configurations {
            let output = await CompatibilityReport.run(configuration: configuration, api: client)
            print("\(file): clusters checked against \(client.configuration.server)")
            for line in output.lines { print(line) }
            failed = failed || output.hasErrors
        }
        try? await client.shutdown()
        return failed
    }
}
