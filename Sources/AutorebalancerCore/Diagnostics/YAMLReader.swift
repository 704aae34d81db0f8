import Foundation
import Yams

/// Reads a YAML document node by node and collects every problem with its position, instead of failing on the first.
///
/// The lenient first layer of every user file: it accepts any YAML, reports syntax errors, unknown keys (with a "did
/// you mean"), wrong types and bad durations, and hands typed values to the validating layer. Built from *text plus a
/// file name*; it never opens files.
public final class YAMLReader {
    /// The file name used in diagnostics.
    public let file: String
    /// Every problem found so far, in discovery order.
    public private(set) var diagnostics: [Diagnostic] = []

    public init(file: String) {
        self.file = file
    }

    // MARK: Reporting

    /// The position of a node (1:1 when Yams gave none).
    public func location(of node: Node?) -> SourceLocation {
        let mark = node?.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    public func error(_ message: String, at node: Node?) {
        diagnostics.append(Diagnostic(.error, at: location(of: node), message))
    }

    public func warning(_ message: String, at node: Node?) {
        diagnostics.append(Diagnostic(.warning, at: location(of: node), message))
    }

    public func report(_ diagnostic: Diagnostic) {
        diagnostics.append(diagnostic)
    }

    // MARK: Parsing

    /// Parses `text` into its single root node; syntax errors (with their position) are reported and give `nil`.
    public func parse(_ text: String) -> Node? {
        do {
            guard let root = try Yams.compose(yaml: text) else {
                diagnostics.append(
                    Diagnostic(.error, at: SourceLocation(file: file, line: 1, column: 1), "the file is empty")
                )
                return nil
            }
            return root
        } catch let error as YamlError {
            var diagnostic = Self.diagnostic(for: error, file: file)
            if let hint = Self.tabHint(text, line: diagnostic.location.line) { diagnostic.message += hint }
            diagnostics.append(diagnostic)
            return nil
        } catch {
            diagnostics.append(
                Diagnostic(.error, at: SourceLocation(file: file, line: 1, column: 1), "cannot read YAML: \(error)")
            )
            return nil
        }
    }

    /// A hint when the line of a syntax error (or the one before it) starts with a tab: YAML forbids tabs for
    /// indentation, and libyaml's message does not say so.
    static func tabHint(_ text: String, line: Int) -> String? {
        var number = 0
        for row in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            guard number >= line - 1 else { continue }
            if number > line { break }
            if row.prefix { $0 == " " || $0 == "\t" }.contains("\t") {
                return "; line \(number) is indented with a tab: YAML allows only spaces for indentation"
            }
        }
        return nil
    }

    static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let text = context.map { "\(problem) (\($0.text) at \($0.mark.line):\($0.mark.column))" } ?? problem
            return Diagnostic(.error, at: at(mark), "YAML syntax: \(text)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return Diagnostic(
                .error,
                at: at(context.mark),
                "duplicate key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", ")) in this mapping"
            )
        case .reader(let problem, _, _, _):
            return Diagnostic(
                .error,
                at: SourceLocation(file: file, line: 1, column: 1),
                "cannot read the file: \(problem)"
            )
        default:
            return Diagnostic(.error, at: SourceLocation(file: file, line: 1, column: 1), "cannot read YAML: \(error)")
        }
    }

    // MARK: Typed access

    /// The node as a mapping, or an error naming `path` and `nil`.
    public func mapping(_ node: Node?, _ path: String) -> Node.Mapping? {
        guard let node else { return nil }
        if let mapping = node.mapping { return mapping }
        error("\(path): expected a mapping, got \(Self.describe(node))", at: node)
        return nil
    }

    /// The node as a sequence, or an error naming `path` and `nil`.
    public func sequence(_ node: Node?, _ path: String) -> [Node]? {
        guard let node else { return nil }
        if let sequence = node.sequence { return Array(sequence) }
        error("\(path): expected a list, got \(Self.describe(node))", at: node)
        return nil
    }

    /// Reports every key of `mapping` not in `allowed`, with a "did you mean".
    public func checkKeys(_ mapping: Node.Mapping, allowed: [String], _ path: String) {
        for (key, _) in mapping {
            guard let name = key.string else {
                error("\(path): keys must be strings", at: key)
                continue
            }
            if !allowed.contains(name) {
                let prefix = path.isEmpty ? "" : "\(path): "
                error("\(prefix)unknown key \"\(name)\"\(Suggestion.didYouMean(name, among: allowed))", at: key)
            }
        }
    }

    /// The value node of `key`, if present (a YAML `null` counts as absent).
    public func value(_ mapping: Node.Mapping?, _ key: String) -> Node? {
        guard let node = mapping?[key] else { return nil }
        if case .scalar(let scalar) = node, scalar.style == .plain,
            ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        {
            return nil
        }
        return node
    }

    /// A string scalar.
    public func string(_ node: Node?, _ path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            error("\(path): expected a string, got \(Self.describe(node))", at: node)
            return nil
        }
        return scalar.string
    }

    /// The largest integer any field takes unless it says less: the CRDs' `int32`.
    public static let maximumInteger = Int(Int32.max)

    /// An integer scalar, optionally with a minimum; never above `maximum`.
    public func int(
        _ node: Node?,
        _ path: String,
        minimum: Int? = nil,
        maximum: Int = YAMLReader.maximumInteger
    ) -> Int? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, let value = Int(scalar.string.trimmingCharacters(in: .whitespaces))
        else {
            if case .scalar(let scalar) = node, Self.isDigits(scalar.string.trimmingCharacters(in: .whitespaces)) {
                error("\(path): \(Self.describe(node)) is too large; the maximum is \(maximum)", at: node)
            } else {
                error("\(path): expected an integer, got \(Self.describe(node))", at: node)
            }
            return nil
        }
        if let minimum, value < minimum {
            error("\(path): must be at least \(minimum), got \(value)", at: node)
            return nil
        }
        if value > maximum {
            error("\(path): must be at most \(maximum), got \(value)", at: node)
            return nil
        }
        return value
    }

    /// A number scalar (quoted or not: EMQX's relative thresholds are strings in the CRD), finite and at most
    /// `maximum` in size.
    public func double(_ node: Node?, _ path: String, maximum: Double = SampleCheck.maximumCount) -> Double? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, let value = Double(scalar.string.trimmingCharacters(in: .whitespaces)),
            value.isFinite
        else {
            error("\(path): expected a number, got \(Self.describe(node))", at: node)
            return nil
        }
        if abs(value) > maximum {
            error("\(path): must be at most \(BalanceEvaluation.format(maximum)), got \(Self.describe(node))", at: node)
            return nil
        }
        return value
    }

    static func isDigits(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// A boolean scalar (`true`/`false`).
    public func bool(_ node: Node?, _ path: String) -> Bool? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = Bool(scalar.string.lowercased())
        else {
            error("\(path): expected true or false, got \(Self.describe(node))", at: node)
            return nil
        }
        return value
    }

    /// A duration such as `30s`, `5m`, `1h30m` (see `DurationText`), never longer than `maximum` (in either direction
    /// when negative durations are allowed): every duration a file gives is bounded, so none can overflow a clock.
    public func duration(
        _ node: Node?,
        _ path: String,
        allowZero: Bool = true,
        allowNegative: Bool = false,
        maximum: TimeInterval = DurationText.maximum
    ) -> TimeInterval? {
        guard let text = string(node, path) else { return nil }
        guard let value = DurationText.parse(text), allowNegative || !text.hasPrefix("-") else {
            error("\(path): \"\(text)\" is not a duration; write e.g. 30s, 5m, 1h30m (units ms, s, m, h, d)", at: node)
            return nil
        }
        if !allowZero, value <= 0 {
            error("\(path): must be longer than 0s", at: node)
            return nil
        }
        if abs(value) > maximum {
            error(
                "\(path): \"\(text.trimmingCharacters(in: .whitespaces))\" is longer than the maximum of \(DurationText.format(maximum))",
                at: node
            )
            return nil
        }
        return value
    }

    /// A mapping of strings to strings (labels, annotations).
    public func stringMap(_ node: Node?, _ path: String) -> [String: String]? {
        guard let mapping = mapping(node, path) else { return nil }
        var result: [String: String] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { continue }
            guard case .scalar(let scalar) = value else {
                error("\(path).\(name): expected a string, got \(Self.describe(value))", at: value)
                continue
            }
            result[name] = scalar.string
        }
        return result
    }

    /// A short description of a node's shape for error messages.
    public static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "\"\(scalar.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
