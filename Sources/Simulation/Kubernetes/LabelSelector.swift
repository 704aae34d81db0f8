import Foundation

/// A parsed `labelSelector` query parameter, with the API server's grammar: requirements separated by commas,
/// each `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key` (exists) or `!key`.
public struct LabelSelector: Sendable, Hashable {
    public enum Requirement: Sendable, Hashable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)

        func matches(_ labels: [String: String]) -> Bool {
            switch self {
            case .equals(let key, let value): return labels[key] == value
            case .notEquals(let key, let value): return labels[key] != value
            case .isIn(let key, let values): return labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): return !(labels[key].map(values.contains) ?? false)
            case .exists(let key): return labels[key] != nil
            case .doesNotExist(let key): return labels[key] == nil
            }
        }
    }

    public var requirements: [Requirement]

    /// Parses a selector; throws with the API server's wording on a malformed one.
    public init(parsing text: String) throws(SelectorError) {
        requirements = []
        for part in Self.splitTopLevel(text) {
            let term = part.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            requirements.append(try Self.requirement(term))
        }
    }

    /// `true` when every requirement holds (an empty selector matches everything).
    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { $0.matches(labels) }
    }

    public struct SelectorError: Error, Sendable {
        public var message: String
    }

    private static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(":
                depth += 1
                current.append(character)
            case ")":
                depth -= 1
                current.append(character)
            case "," where depth == 0:
                parts.append(current)
                current = ""
            default: current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    private static func requirement(_ term: String) throws(SelectorError) -> Requirement {
        if term.hasPrefix("!") {
            let key = String(term.dropFirst()).trimmingCharacters(in: .whitespaces)
            try validate(key: key, in: term)
            return .doesNotExist(key)
        }
        if let range = term.range(of: "!=") {
            let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let value = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
            try validate(key: key, in: term)
            try validate(value: value)
            return .notEquals(key, value)
        }
        if let range = term.range(of: "==") ?? term.range(of: "=") {
            let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let value = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
            try validate(key: key, in: term)
            try validate(value: value)
            return .equals(key, value)
        }
        let words = term.split(separator: " ", maxSplits: 1).map(String.init)
        if words.count == 2 {
            let key = words[0]
            let rest = words[1].trimmingCharacters(in: .whitespaces)
            let op: String
            let list: Substring
            if rest.hasPrefix("notin") {
                op = "notin"
                list = rest.dropFirst(5)
            } else if rest.hasPrefix("in") {
                op = "in"
                list = rest.dropFirst(2)
            } else {
                throw SelectorError(
                    message: "unable to parse requirement: found '\(rest)', expected: in, notin, =, ==, !=, gt, lt"
                )
            }
            let trimmed = list.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("("), trimmed.hasSuffix(")") else {
                throw SelectorError(message: "unable to parse requirement: found '\(trimmed)', expected: '('")
            }
            let values = trimmed.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            try validate(key: key, in: term)
            for value in values { try validate(value: value) }
            if values.isEmpty || values == [""] {
                throw SelectorError(
                    message: "unable to parse requirement: for 'in', 'notin' operators, values set can't be empty"
                )
            }
            return op == "in" ? .isIn(key, Set(values)) : .notIn(key, Set(values))
        }
        try validate(key: term, in: term)
        return .exists(term)
    }

    private static func validate(key: String, in term: String) throws(SelectorError) {
        let name = key.split(separator: "/").last.map(String.init) ?? key
        guard !name.isEmpty, name.count <= 63,
            name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }),
            name.first!.isLetter || name.first!.isNumber, name.last!.isLetter || name.last!.isNumber
        else {
            throw SelectorError(
                message:
                    "unable to parse requirement: <nil>: Invalid value: \"\(key)\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            )
        }
    }

    private static func validate(value: String) throws(SelectorError) {
        guard value.count <= 63,
            value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
        else {
            throw SelectorError(
                message:
                    "unable to parse requirement: values[0][]: Invalid value: \"\(value)\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            )
        }
    }
}

/// A parsed `fieldSelector`: `path=value`, `path==value`, `path!=value`, comma-separated; paths are dotted JSON paths
/// (`metadata.name`, `involvedObject.name`, `reason`).
struct KubernetesFieldSelector: Sendable {
    var terms: [(path: String, value: String, equal: Bool)]

    init(parsing text: String) throws(LabelSelector.SelectorError) {
        terms = []
        for part in text.split(separator: ",") {
            let term = String(part)
            if let range = term.range(of: "!=") {
                terms.append((String(term[..<range.lowerBound]), String(term[range.upperBound...]), false))
            } else if let range = term.range(of: "==") ?? term.range(of: "=") {
                terms.append((String(term[..<range.lowerBound]), String(term[range.upperBound...]), true))
            } else {
                throw LabelSelector.SelectorError(message: "invalid selector: '\(text)'; can't understand '\(term)'")
            }
        }
    }

    func matches(_ object: KubernetesJSON) -> Bool {
        terms.allSatisfy { term in
            let actual = object.value(atPath: term.path)?.selectorText ?? ""
            return (actual == term.value) == term.equal
        }
    }
}
