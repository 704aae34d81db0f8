import AutorebalancerCore
import Foundation
import Synchronization
import Yams

/// A CRD version's `openAPIV3Schema`, applied to custom resources as the API server applies it: unknown fields are
/// pruned (with a warning), defaults applied, then types, `required`, `enum`, `minimum`/`maximum`, `minLength`/
/// `maxLength`, `maxItems`, `pattern` and the int32/int64/date-time formats are checked, every problem reported at
/// once. Of CEL (`x-kubernetes-validations`) only the transition rule `self == oldSelf` (immutability) is known; a
/// CRD using any other rule is refused when loaded, so the simulation never silently admits what a real cluster
/// would reject.
///
/// Driven by the CRD text itself, so the schema shipped in deploy/ is the one the simulation enforces.
public final class StructuralSchema: Sendable {
    public let type: String?
    public let properties: [String: StructuralSchema]
    public let items: StructuralSchema?
    public let required: [String]
    public let enumValues: [KubernetesJSON]?
    public let minimum: Double?
    public let maximum: Double?
    public let minLength: Int?
    public let maxLength: Int?
    public let maxItems: Int?
    public let pattern: String?
    public let format: String?
    public let defaultValue: KubernetesJSON?
    /// `x-kubernetes-preserve-unknown-fields: true` (or an object without `properties`, such as `metadata`).
    public let preservesUnknownFields: Bool
    /// The message of a `self == oldSelf` rule.
    public let immutableMessage: String?

    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// - Parameter skippedRules: when given, CEL rules other than `self == oldSelf` and patterns Swift's `Regex` cannot
    ///   compile are not refused but skipped, and collected here (for real CRDs whose rules guard fields the simulation
    ///   never writes).
    init(_ node: [String: Any], path: String, skippedRules: SkippedRules? = nil) throws(LoadError) {
        type = node["type"] as? String
        var properties: [String: StructuralSchema] = [:]
        for (key, value) in node["properties"] as? [String: Any] ?? [:] {
            guard let child = value as? [String: Any] else {
                throw LoadError(description: "\(path).\(key): not a schema")
            }
            properties[key] = try StructuralSchema(child, path: "\(path).\(key)", skippedRules: skippedRules)
        }
        self.properties = properties
        items = try (node["items"] as? [String: Any]).map { items throws(LoadError) in
            try StructuralSchema(items, path: "\(path)[]", skippedRules: skippedRules)
        }
        required = node["required"] as? [String] ?? []
        enumValues = (node["enum"] as? [Any])?.compactMap(Self.json)
        minimum = Self.double(node["minimum"])
        maximum = Self.double(node["maximum"])
        minLength = node["minLength"] as? Int
        maxLength = node["maxLength"] as? Int
        maxItems = node["maxItems"] as? Int
        var pattern = node["pattern"] as? String
        if let text = pattern, (try? Regex(text)) == nil {
            // Go's RE2 accepts some classes Swift's Regex does not (`[a-zA-Z\d-_]`).
            guard let skippedRules else { throw LoadError(description: "\(path): pattern \(text) does not compile") }
            skippedRules.record("\(path): pattern \(text)")
            pattern = nil
        }
        self.pattern = pattern
        format = node["format"] as? String
        defaultValue = node["default"].flatMap(Self.json)
        preservesUnknownFields =
            node["x-kubernetes-preserve-unknown-fields"] as? Bool ?? (type == "object" && node["properties"] == nil)
        var immutable: String?
        for rule in node["x-kubernetes-validations"] as? [[String: Any]] ?? [] {
            guard (rule["rule"] as? String)?.replacingOccurrences(of: " ", with: "") == "self==oldSelf" else {
                if let skippedRules {
                    skippedRules.record("\(path): rule \(rule["rule"] ?? "")")
                    continue
                }
                throw LoadError(
                    description:
                        "\(path): the simulated API supports only the CEL rule `self == oldSelf`, not \(rule["rule"] ?? "")"
                )
            }
            immutable = rule["message"] as? String ?? "Invalid value: \"object\": no such key"
        }
        immutableMessage = immutable
    }

    /// Where CEL rules were skipped while loading (see `load(crdYAML:version:skippingRules:)`).
    public final class SkippedRules: Sendable {
        private let paths = Mutex<[String]>([])
        public init() {}
        func record(_ path: String) { paths.withLock { $0.append(path) } }
        public var all: [String] { paths.withLock { $0 } }
    }

    /// The schema of `version` in a CRD's YAML text. With `skippingRules`, CEL rules the simulation cannot evaluate
    /// are skipped (their paths recorded there) instead of refused.
    public static func load(
        crdYAML: String,
        version: String,
        skippingRules: SkippedRules? = nil
    ) throws(LoadError) -> StructuralSchema {
        let loaded: Any?
        do { loaded = try Yams.load(yaml: crdYAML) } catch {
            throw LoadError(description: "the CRD is not YAML: \(error)")
        }
        guard let document = loaded as? [String: Any], let spec = document["spec"] as? [String: Any],
            let versions = spec["versions"] as? [[String: Any]],
            let entry = versions.first(where: { $0["name"] as? String == version }),
            let schema = (entry["schema"] as? [String: Any])?["openAPIV3Schema"] as? [String: Any]
        else { throw LoadError(description: "the CRD has no openAPIV3Schema for version \(version)") }
        return try StructuralSchema(schema, path: "", skippedRules: skippingRules)
    }

    // MARK: Admission

    /// Prunes unknown fields and applies defaults, depth first. Returns the pruned paths as warnings.
    public func pruneAndDefault(_ value: inout KubernetesJSON, path: String = "") -> [String] {
        var warnings: [String] = []
        switch value {
        case .object(var object) where type == "object" || !properties.isEmpty:
            if !preservesUnknownFields {
                for key in object.keys.sorted() where properties[key] == nil {
                    object.removeValue(forKey: key)
                    warnings.append("unknown field \"\(Self.join(path, key))\"")
                }
            }
            for (key, schema) in properties {
                if object[key] == nil, let defaultValue = schema.defaultValue { object[key] = defaultValue }
                if var child = object[key] {
                    warnings += schema.pruneAndDefault(&child, path: Self.join(path, key))
                    object[key] = child
                }
            }
            value = .object(object)
        case .array(var array):
            if let items {
                for index in array.indices {
                    warnings += items.pruneAndDefault(&array[index], path: "\(path)[\(index)]")
                }
                value = .array(array)
            }
        default:
            break
        }
        return warnings
    }

    /// Every schema violation of `value` (already pruned and defaulted), and on update the immutability rules
    /// against `old`.
    public func errors(_ value: KubernetesJSON, old: KubernetesJSON? = nil, path: String = "") -> [FieldError] {
        var errors: [FieldError] = []
        if let immutableMessage, let old, old != value {
            errors.append(FieldError(field: path, kind: .invalid(value: "\"object\"", detail: immutableMessage)))
        }
        if value.isNull { return errors }
        if let problem = typeProblem(value) {
            return errors + [
                FieldError(
                    field: path,
                    kind: .invalid(
                        value: "\"\(value.typeName)\"",
                        detail: "\(path) in body must be of type \(problem): \"\(value.typeName)\""
                    )
                )
            ]
        }
        if let enumValues, !enumValues.contains(value) {
            let allowed = enumValues.compactMap(\.stringValue).map { "\"\($0)\"" }.joined(separator: ", ")
            errors.append(
                FieldError(field: path, kind: .invalid(value: Self.show(value), detail: "supported values: \(allowed)"))
            )
        }
        switch value {
        case .object(let object):
            for key in required where object[key] == nil || object[key] == .null {
                errors.append(FieldError(field: Self.join(path, key), kind: .required(detail: nil)))
            }
            for key in object.keys.sorted() {
                guard let schema = properties[key], let child = object[key] else { continue }
                errors += schema.errors(child, old: old?[key], path: Self.join(path, key))
            }
        case .array(let array):
            if let maxItems, array.count > maxItems {
                errors.append(
                    FieldError(
                        field: path,
                        kind: .invalid(value: "\(array.count)", detail: "must have at most \(maxItems) items")
                    )
                )
            }
            if let items {
                for (index, child) in array.enumerated() {
                    errors += items.errors(
                        child,
                        old: old?.arrayValue.flatMap { index < $0.count ? $0[index] : nil },
                        path: "\(path)[\(index)]"
                    )
                }
            }
        case .string(let text):
            if let minLength, text.count < minLength {
                errors.append(
                    FieldError(
                        field: path,
                        kind: .invalid(
                            value: Self.show(value),
                            detail: "\(path) in body should be at least \(minLength) chars long"
                        )
                    )
                )
            }
            if let maxLength, text.count > maxLength {
                errors.append(
                    FieldError(
                        field: path,
                        kind: .invalid(
                            value: Self.show(value),
                            detail: "\(path) in body should be at most \(maxLength) chars long"
                        )
                    )
                )
            }
            if let pattern, let regex = try? Regex(pattern), (try? regex.firstMatch(in: text)) == nil {
                errors.append(
                    FieldError(
                        field: path,
                        kind: .invalid(value: Self.show(value), detail: "\(path) in body should match '\(pattern)'")
                    )
                )
            }
            if format == "date-time", KubernetesTime.parse(text) == nil {
                errors.append(
                    FieldError(
                        field: path,
                        kind: .invalid(
                            value: Self.show(value),
                            detail: "\(path) in body must be of type date-time: \(Self.show(value))"
                        )
                    )
                )
            }
        case .integer, .number:
            let number = value.doubleValue ?? 0
            if let minimum, number < minimum {
                errors.append(
                    FieldError(
                        field: path,
                        kind: .invalid(
                            value: Self.show(value),
                            detail: "\(path) in body should be greater than or equal to \(Self.show(minimum))"
                        )
                    )
                )
            }
            let formatMaximum: Double? = format == "int32" ? Double(Int32.max) : nil
            if let limit = [maximum, formatMaximum].compactMap({ $0 }).min(), number > limit {
                errors.append(
                    FieldError(
                        field: path,
                        kind: .invalid(
                            value: Self.show(value),
                            detail: "\(path) in body should be less than or equal to \(Self.show(limit))"
                        )
                    )
                )
            }
            if format == "int32", number < Double(Int32.min) {
                errors.append(
                    FieldError(
                        field: path,
                        kind: .invalid(
                            value: Self.show(value),
                            detail: "\(path) in body should be greater than or equal to \(Int32.min)"
                        )
                    )
                )
            }
        default:
            break
        }
        return errors
    }

    /// `nil` when `value` has the schema's type, else the expected type's name.
    private func typeProblem(_ value: KubernetesJSON) -> String? {
        guard let type else { return nil }
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("integer", .integer),
            ("number", .integer), ("number", .number):
            return nil
        case ("integer", .number(let number)) where number == number.rounded() && abs(number) < 9.2e18:
            return nil
        default:
            return type
        }
    }

    private static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private static func show(_ value: KubernetesJSON) -> String {
        switch value {
        case .string(let text): "\"\(text)\""
        case .integer(let number): String(number)
        case .number(let number): show(number)
        default: "\"\(value.typeName)\""
        }
    }

    private static func show(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    private static func double(_ any: Any?) -> Double? {
        if let value = any as? Int { return Double(value) }
        return any as? Double
    }

    static func json(_ any: Any) -> KubernetesJSON? {
        switch any {
        case let value as Bool: return .bool(value)
        case let value as Int: return .integer(Int64(value))
        case let value as Double: return .number(value)
        case let value as String: return .string(value)
        case let value as [Any]: return .array(value.compactMap(json))
        case let value as [String: Any]: return .object(value.compactMapValues(json))
        default: return nil
        }
    }
}

extension KubernetesJSON {
    /// The number, for integers and floats.
    var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }
}
