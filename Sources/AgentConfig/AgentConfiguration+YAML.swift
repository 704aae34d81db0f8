import AutorebalancerCore
import Foundation

extension AgentConfiguration {
    /// The result of loading an agent configuration: the configuration when there is no error, and every problem.
    public struct LoadResult: Sendable {
        public var configuration: AgentConfiguration?
        public var diagnostics: [Diagnostic]
        /// Where the document names policy files and policies (empty when it could not be parsed).
        public var references: ConfigurationReferences
    }

    /// Parses and validates an agent configuration from text; `file` names it in diagnostics. Never reads files.
    ///
    /// Two layers, as for policies: `AgentConfigDocument` reads the YAML leniently (form), `AgentConfigValidator`
    /// checks its meaning and builds the configuration; every problem of both is reported, sorted by position.
    public static func load(text: String, file: String) -> LoadResult {
        let reader = YAMLReader(file: file)
        guard let document = AgentConfigDocument.read(text: text, reader: reader) else {
            return LoadResult(
                configuration: nil,
                diagnostics: reader.diagnostics,
                references: .init(document: reader.location(of: nil))
            )
        }
        var validator = AgentConfigValidator(file: file)
        let configuration = validator.validate(document)
        let diagnostics = (reader.diagnostics + validator.diagnostics).sortedByLocation()
        return LoadResult(
            configuration: diagnostics.hasErrors ? nil : configuration,
            diagnostics: diagnostics,
            references: ConfigurationReferences(document)
        )
    }
}
