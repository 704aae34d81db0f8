import AutorebalancerCore
import Foundation

extension AgentConfiguration {
    /// The result of loading an agent configuration: the configuration when there is no error, and every problem.
    public struct LoadResult: Sendable {
        public var configuration: AgentConfiguration?
        public var diagnostics: [Diagnostic]
    }

    /// Parses and validates an agent configuration from text; `file` names it in diagnostics. Never reads files.
    ///
    /// Two layers, as for policies: `AgentConfigDocument` reads the YAML leniently (form), `AgentConfigValidator`
    /// checks its meaning and builds the configuration; every problem of both is reported, sorted by position.
    public static func load(text: String, file: String) -> LoadResult {
        let reader = YAMLReader(file: file)
        guard let document = AgentConfigDocument.read(text: text, reader: reader) else {
            return LoadResult(configuration: nil, diagnostics: reader.diagnostics)
        }
        var validator = AgentConfigValidator(file: file)
        let configuration = validator.validate(document)
        let diagnostics = (reader.diagnostics + validator.diagnostics).sortedByLocation()
        return LoadResult(configuration: diagnostics.hasErrors ? nil : configuration, diagnostics: diagnostics)
    }
}

/// `check` support: validates `kind: AgentConfig` documents.
public struct AgentConfigurationChecker: DocumentChecker {
    public init() {}
    public var kind: String { AgentConfiguration.kind }
    public func check(text: String, file: String) -> [Diagnostic] {
        AgentConfiguration.load(text: text, file: file).diagnostics
    }
}
