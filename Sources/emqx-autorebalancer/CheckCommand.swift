import Agent
import ArgumentParser
import AutorebalancerCore
import Foundation

/// `check FILE...`: validates policy, policy-test (and other registered) files; every problem at once.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate policy, policy-test and agent-config files: every problem as FILE:LINE:COL: error|warning: message.",
        discussion: """
            The document's `kind:` selects the checker. An agent config (kind: AgentConfig) is loaded as `run` loads \
            it, with the policy files and directories it names, and reports what `run` would. Exits 0 when there is \
            no error (warnings allowed), 1 on any error.

            Examples:
              emqx-autorebalancer check agent.yaml rules/*.yaml
              emqx-autorebalancer check --format json rules/default.yaml \\
                | jq '.[] | select(.severity == "error")'
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Option(help: ArgumentHelp("Output format: text or json (one array of {file,line,column,severity,message}).", valueName: "format"))
    var format: Format = .text

    @Argument(help: ArgumentHelp("The files to check (kind: Policy, PolicyTest or AgentConfig).", valueName: "file"))
    var files: [String]

    /// The checkers for every kind the binary knows; other kinds plug in here.
    static var registry: DocumentCheckerRegistry { DocumentCheckerRegistry.builtIn.adding(AgentConfigurationChecker()) }

    func run() throws {
        var diagnostics: [Diagnostic] = []
        // An agent config reports the problems of the policy files it loads; `check agent.yaml rules/*.yaml` names
        // those files twice, and each problem is shown once.
        var seen: Set<Diagnostic> = []
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                diagnostics.append(Diagnostic(.error, at: SourceLocation(file: file, line: 1, column: 1), "cannot read the file"))
                continue
            }
            diagnostics += Self.registry.check(text: text, file: file).sortedByLocation().filter { seen.insert($0).inserted }
        }
        switch format {
        case .text:
            for diagnostic in diagnostics { print(diagnostic.description) }
            let errors = diagnostics.filter { $0.severity == .error }.count
            let warnings = diagnostics.count - errors
            FileHandle.standardError.write(Data("\(files.count) file(s) checked: \(errors) error(s), \(warnings) warning(s)\n".utf8))
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
            print(String(decoding: try encoder.encode(diagnostics), as: UTF8.self))
        }
        if diagnostics.hasErrors { throw ExitCode(1) }
    }
}
