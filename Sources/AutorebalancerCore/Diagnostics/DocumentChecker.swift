import Yams

/// Validates one kind of document (`kind:` at the top of a YAML file) for `check`.
///
/// Policies (`Policy`) and policy tests (`PolicyTest`) are built in; other modules add their kinds (the agent
/// configuration's `AgentConfig`) by registering a checker with `DocumentCheckerRegistry.adding(_:)`.
public protocol DocumentChecker: Sendable {
    /// The `kind:` this checker validates.
    var kind: String { get }
    /// Every problem of one document of this kind, given as text plus the file name used in diagnostics.
    func check(text: String, file: String) -> [Diagnostic]
}

/// The `apiVersion` and `kind` of a document, read leniently so the right checker can run.
public struct DocumentHeader: Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String?
    /// Where `kind:` is (or the top of the file).
    public var kindLocation: SourceLocation

    /// Reads the header; YAML syntax errors are reported through `reader`.
    public static func read(text: String, reader: YAMLReader) -> DocumentHeader? {
        guard let root = reader.parse(text) else { return nil }
        let mapping = root.mapping
        let kindNode = mapping?["kind"]
        return DocumentHeader(
            apiVersion: mapping?["apiVersion"]?.string,
            kind: kindNode?.string,
            kindLocation: reader.location(of: kindNode ?? root)
        )
    }
}

/// The checkers `check` knows, keyed by `kind`.
public struct DocumentCheckerRegistry: Sendable {
    public private(set) var checkers: [String: any DocumentChecker]

    public init(_ checkers: [any DocumentChecker] = []) {
        self.checkers = Dictionary(checkers.map { ($0.kind, $0) }, uniquingKeysWith: { _, new in new })
    }

    /// `Policy` and `PolicyTest`.
    public static let builtIn = DocumentCheckerRegistry([PolicyChecker(), PolicyTestChecker()])

    /// A copy with `checker` added (replacing any checker of the same kind).
    public func adding(_ checker: any DocumentChecker) -> DocumentCheckerRegistry {
        var copy = self
        copy.checkers[checker.kind] = checker
        return copy
    }

    /// The known kinds, sorted.
    public var kinds: [String] { checkers.keys.sorted() }

    /// Checks one file: dispatches on `kind:`; a missing or unknown kind is an error listing the known kinds.
    public func check(text: String, file: String) -> [Diagnostic] {
        let reader = YAMLReader(file: file)
        guard let header = DocumentHeader.read(text: text, reader: reader) else { return reader.diagnostics }
        let known = kinds.map { "\"\($0)\"" }.joined(separator: ", ")
        guard let kind = header.kind else {
            return [Diagnostic(.error, at: header.kindLocation, "missing \"kind\"; expected one of \(known)")]
        }
        guard let checker = checkers[kind] else {
            return [
                Diagnostic(
                    .error,
                    at: header.kindLocation,
                    "unknown kind \"\(kind)\"\(Suggestion.didYouMean(kind, among: kinds)); expected one of \(known)"
                )
            ]
        }
        return checker.check(text: text, file: file)
    }
}
