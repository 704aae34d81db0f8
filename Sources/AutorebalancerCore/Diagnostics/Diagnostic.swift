/// A position in a user's file: 1-based line and column (columns count Unicode scalars, as libyaml does).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The file name as the user gave it (never resolved by the core).
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `FILE:LINE:COL`.
    public var description: String { "\(file):\(line):\(column)" }
}

/// How bad a diagnostic is: errors make `check` exit 1 and stop a policy from loading; warnings do neither.
public enum DiagnosticSeverity: String, Sendable, Hashable, Codable, Comparable {
    case error
    case warning

    public static func < (lhs: DiagnosticSeverity, rhs: DiagnosticSeverity) -> Bool {
        lhs == .error && rhs == .warning
    }
}

/// One problem found in a user's file, with its position.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    public var severity: DiagnosticSeverity
    public var location: SourceLocation
    public var message: String

    public init(_ severity: DiagnosticSeverity, at location: SourceLocation, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    /// `FILE:LINE:COL: error|warning: message`, the form compilers and `check` print.
    public var description: String { "\(location): \(severity.rawValue): \(message)" }

    enum CodingKeys: String, CodingKey { case file, line, column, severity, message }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        severity = try c.decode(DiagnosticSeverity.self, forKey: .severity)
        location = SourceLocation(
            file: try c.decode(String.self, forKey: .file),
            line: try c.decode(Int.self, forKey: .line),
            column: try c.decode(Int.self, forKey: .column)
        )
        message = try c.decode(String.self, forKey: .message)
    }

    /// Flat JSON: `{"file":…,"line":…,"column":…,"severity":…,"message":…}`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(location.file, forKey: .file)
        try c.encode(location.line, forKey: .line)
        try c.encode(location.column, forKey: .column)
        try c.encode(severity, forKey: .severity)
        try c.encode(message, forKey: .message)
    }
}

extension Array where Element == Diagnostic {
    /// `true` when any diagnostic is an error.
    public var hasErrors: Bool { contains { $0.severity == .error } }

    /// Sorted by file, line, column, so output is stable and reads top to bottom.
    public func sortedByLocation() -> [Diagnostic] {
        enumerated().sorted { a, b in
            let l = a.element.location
            let r = b.element.location
            if l.file != r.file { return l.file < r.file }
            if l.line != r.line { return l.line < r.line }
            if l.column != r.column { return l.column < r.column }
            return a.offset < b.offset
        }.map(\.element)
    }
}
