import Foundation

/// A JSON document as the simulated API server stores it: objects keep every field a client sent, including the ones
/// no typed model knows, so a read returns what was written (as the real API server does outside pruned schemas).
public enum KubernetesJSON: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    /// A number without a fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// Any other number.
    case number(Double)
    case string(String)
    case array([KubernetesJSON])
    case object([String: KubernetesJSON])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([KubernetesJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: KubernetesJSON].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses JSON bytes.
    public static func parse(_ data: Data) throws -> KubernetesJSON {
        try JSONDecoder().decode(KubernetesJSON.self, from: data)
    }

    /// Converts any `Encodable` (a typed model) into a document.
    public static func from(_ value: some Encodable) throws -> KubernetesJSON {
        try parse(JSONEncoder().encode(value))
    }

    /// Serialises with sorted keys (stable output for tests and diffs).
    public func data() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("null".utf8)
    }

    /// Decodes the document into a typed model.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: data())
    }

    public var objectValue: [String: KubernetesJSON]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [KubernetesJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int64? {
        switch self {
        case .integer(let value): return value
        case .number(let value) where value.rounded() == value && abs(value) < 9.2e18: return Int64(value)
        default: return nil
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The JSON type name as the API server's schema errors spell it.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .integer: return "integer"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Object member access; `nil` for a missing key or a non-object.
    public subscript(key: String) -> KubernetesJSON? {
        get { objectValue?[key] }
        set {
            var object = objectValue ?? [:]
            object[key] = newValue
            self = .object(object)
        }
    }

    /// The value at a dotted path (`metadata.name`), `nil` when any step is missing.
    public func value(atPath path: String) -> KubernetesJSON? {
        var current: KubernetesJSON? = self
        for key in path.split(separator: ".") {
            current = current?[String(key)]
        }
        return current
    }

    /// The value rendered as a field selector compares it: strings as is, numbers and booleans as their text.
    public var selectorText: String? {
        switch self {
        case .string(let value): return value
        case .integer(let value): return String(value)
        case .number(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        default: return nil
        }
    }
}

extension KubernetesJSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: KubernetesJSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, KubernetesJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .number(value) }
}

// MARK: - Patches

/// Why a patch could not be applied (answered 422 or 400 by the server, as the real one does).
struct KubernetesPatchError: Error {
    var message: String
}

extension KubernetesJSON {
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`): objects merge, `null` deletes, anything else
    /// replaces.
    func mergePatched(with patch: KubernetesJSON) -> KubernetesJSON {
        guard case .object(let patchObject) = patch else { return patch }
        var target = objectValue ?? [:]
        for (key, value) in patchObject {
            if value.isNull {
                target.removeValue(forKey: key)
            } else {
                target[key] = (target[key] ?? .null).mergePatched(with: value)
            }
        }
        return .object(target)
    }

    /// RFC 6902 JSON patch (`application/json-patch+json`): add, remove, replace, move, copy, test.
    func jsonPatched(with operations: KubernetesJSON) throws -> KubernetesJSON {
        guard let list = operations.arrayValue else {
            throw KubernetesPatchError(message: "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        }
        var document = self
        for operation in list {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw KubernetesPatchError(message: "the server rejected our request due to an error in our request")
            }
            let pointer = try JSONPointer(path)
            switch op {
            case "add":
                guard let value = operation["value"] else {
                    throw KubernetesPatchError(message: "missing value for add at \(path)")
                }
                try document.insert(value, at: pointer, replacing: false)
            case "replace":
                guard let value = operation["value"] else {
                    throw KubernetesPatchError(message: "missing value for replace at \(path)")
                }
                guard document.get(pointer) != nil else {
                    throw KubernetesPatchError(message: "replace operation does not apply: doc is missing key: \(path)")
                }
                try document.insert(value, at: pointer, replacing: true)
            case "remove":
                guard document.get(pointer) != nil else {
                    throw KubernetesPatchError(
                        message: "remove operation does not apply: doc is missing path: \"\(path)\""
                    )
                }
                try document.remove(at: pointer)
            case "move", "copy":
                guard let fromText = operation["from"]?.stringValue, let from = try? JSONPointer(fromText),
                    let value = document.get(from)
                else { throw KubernetesPatchError(message: "\(op) operation does not apply: doc is missing from path") }
                if op == "move" { try document.remove(at: from) }
                try document.insert(value, at: pointer, replacing: false)
            case "test":
                guard document.get(pointer) == operation["value"] else {
                    throw KubernetesPatchError(message: "testing value \(path) failed: test failed")
                }
            default:
                throw KubernetesPatchError(message: "Unexpected kind: \(op)")
            }
        }
        return document
    }

    fileprivate func get(_ pointer: JSONPointer) -> KubernetesJSON? {
        var current: KubernetesJSON? = self
        for token in pointer.tokens {
            switch current {
            case .object(let object): current = object[token]
            case .array(let array):
                guard let index = Int(token), array.indices.contains(index) else { return nil }
                current = array[index]
            default: return nil
            }
        }
        return current
    }

    fileprivate mutating func insert(_ value: KubernetesJSON, at pointer: JSONPointer, replacing: Bool) throws {
        guard let first = pointer.tokens.first else {
            self = value
            return
        }
        let rest = JSONPointer(tokens: Array(pointer.tokens.dropFirst()))
        switch self {
        case .object(var object):
            if rest.tokens.isEmpty {
                object[first] = value
            } else {
                guard var child = object[first] else {
                    throw KubernetesPatchError(
                        message: "add operation does not apply: doc is missing path: \"\(pointer.text)\""
                    )
                }
                try child.insert(value, at: rest, replacing: replacing)
                object[first] = child
            }
            self = .object(object)
        case .array(var array):
            if rest.tokens.isEmpty {
                if first == "-" && !replacing {
                    array.append(value)
                } else if let index = Int(first), index >= 0, index <= array.count {
                    if replacing {
                        guard index < array.count else {
                            throw KubernetesPatchError(message: "index out of range: \(pointer.text)")
                        }
                        array[index] = value
                    } else {
                        array.insert(value, at: index)
                    }
                } else {
                    throw KubernetesPatchError(
                        message: "add operation does not apply: index out of range: \(pointer.text)"
                    )
                }
            } else {
                guard let index = Int(first), array.indices.contains(index) else {
                    throw KubernetesPatchError(message: "index out of range: \(pointer.text)")
                }
                try array[index].insert(value, at: rest, replacing: replacing)
            }
            self = .array(array)
        default:
            throw KubernetesPatchError(
                message: "add operation does not apply: doc is missing path: \"\(pointer.text)\""
            )
        }
    }

    fileprivate mutating func remove(at pointer: JSONPointer) throws {
        guard let first = pointer.tokens.first else { return }
        let rest = JSONPointer(tokens: Array(pointer.tokens.dropFirst()))
        switch self {
        case .object(var object):
            if rest.tokens.isEmpty {
                object.removeValue(forKey: first)
            } else if var child = object[first] {
                try child.remove(at: rest)
                object[first] = child
            }
            self = .object(object)
        case .array(var array):
            guard let index = Int(first), array.indices.contains(index) else {
                throw KubernetesPatchError(
                    message: "remove operation does not apply: index out of range: \(pointer.text)"
                )
            }
            if rest.tokens.isEmpty {
                array.remove(at: index)
            } else {
                try array[index].remove(at: rest)
            }
            self = .array(array)
        default:
            throw KubernetesPatchError(
                message: "remove operation does not apply: doc is missing path: \"\(pointer.text)\""
            )
        }
    }
}

/// An RFC 6901 pointer (`/metadata/labels/app~1name`).
private struct JSONPointer {
    var tokens: [String]

    init(tokens: [String]) { self.tokens = tokens }

    init(_ text: String) throws {
        if text.isEmpty {
            tokens = []
            return
        }
        guard text.hasPrefix("/") else {
            throw KubernetesPatchError(message: "JSON pointer must be empty or start with a \"/\": \(text)")
        }
        tokens = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    var text: String {
        tokens.isEmpty
            ? ""
            : "/"
                + tokens.map { $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") }
                .joined(separator: "/")
    }
}
