import Foundation

/// A `DecodingError` in words: the field that did not decode (`spec.strategy.connEvictRate`) and what was wrong
/// (`expected an integer, got a string`), instead of Swift's dump of coding keys and debug descriptions.
public struct DecodingProblem: Sendable, Hashable, CustomStringConvertible {
    /// One step of the path to the field.
    public enum Step: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// The path to the field; empty for the document as a whole.
    public var path: [Step]
    public var problem: String

    /// The problem of any error a decoder threw (a non-`DecodingError` keeps its own description).
    public init(_ error: any Error) {
        guard let error = error as? DecodingError else {
            path = []
            problem = "\(error)"
            return
        }
        switch error {
        case .typeMismatch(let type, let context):
            path = Self.steps(context.codingPath)
            problem =
                "expected \(Self.name(of: type))\(Self.found(context.debugDescription).map { ", got \($0)" } ?? "")"
        case .valueNotFound(let type, let context):
            path = Self.steps(context.codingPath)
            problem = "expected \(Self.name(of: type)), got null"
        case .keyNotFound(let key, let context):
            path = Self.steps(context.codingPath + [key])
            problem = "required, missing"
        case .dataCorrupted(let context):
            path = Self.steps(context.codingPath)
            problem =
                context.codingPath.isEmpty
                ? "not a valid document (\(context.debugDescription.trimmingCharacters(in: CharacterSet(charactersIn: "."))))"
                : context.debugDescription
        @unknown default:
            path = []
            problem = "could not be decoded"
        }
    }

    /// `spec.nodes[0].name`.
    public var field: String {
        var text = ""
        for step in path {
            switch step {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    /// `field: problem`, or the problem alone for the whole document.
    public var description: String { path.isEmpty ? problem : "\(field): \(problem)" }

    static func steps(_ keys: [any CodingKey]) -> [Step] {
        keys.map { key in key.intValue.map(Step.index) ?? .key(key.stringValue) }
    }

    /// What a user calls the expected type.
    static func name(of type: Any.Type) -> String {
        let name = String(describing: type)
        switch name {
        case "Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32", "UInt64":
            return "an integer"
        case "Double", "Float": return "a number"
        case "String": return "a string"
        case "Bool": return "true or false"
        case "Date": return "a time"
        case "Sequence": return "a list"
        case "Mapping": return "a mapping"
        case "Scalar": return "a single value (a string or a number)"
        default:
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "a list" }
            return "an object"
        }
    }

    /// What the decoder found instead, from its debug description (`… but found a string instead.`).
    static func found(_ debugDescription: String) -> String? {
        guard let range = debugDescription.range(of: #"found (.+?) (value )?instead"#, options: .regularExpression)
        else { return nil }
        var text = String(debugDescription[range].dropFirst("found ".count))
        text = text.replacingOccurrences(of: " value instead", with: "").replacingOccurrences(of: " instead", with: "")
        // Yams names its node types; only plain words help a reader.
        return ["a string", "number", "a number", "bool", "null", "an array", "a dictionary"].contains(text)
            ? text : nil
    }
}
