import Agent
import ArgumentParser
import AutorebalancerCore
import Foundation

/// `check FILE...`: validates policy, policy-test (and other registered) files; every problem at once.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate policy, policy-test and agent-config files: every problem as FILE:LINE:COL: error|warning: message.",
        discussion: "Exits 0 when there is no error (warnings allowed), 1 on any error. The document's `kind:` selects the checker."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Option(help: "Output format: text or json (one array of {file,line,column,severity,message}).")
    var format: Format = .text

    @Argument(help: "The files to check.")
    var files: [String]

    /// The checkers for every kind the binary knows; other kinds plug in here.
    static var registry: DocumentCheckerRegistry { DocumentCheckerRegistry.builtIn.adding(AgentConfigurationChecker()) }

    func run() throws {
        var diagnostics: [Diagnostic] = []
        for file in files {
            let text: String
            switch TextFile.read(file) {
            case .success(let read): text = read
            case .failure(let problem):
                diagnostics.append(Diagnostic(.error, at: SourceLocation(file: file, line: 1, column: 1), "cannot read the file: it \(problem)"))
                continue
            }
            diagnostics += Self.registry.check(text: text, file: file).sortedByLocation()
        }
        switch format {
        case .text:
            // Messages quote the files (keys, URLs): printed safe, like log lines.
            for diagnostic in diagnostics { print(SafeText.forLog(diagnostic.description)) }
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
