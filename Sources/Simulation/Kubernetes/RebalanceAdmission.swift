import Foundation

/// Admission of `apps.emqx.io/v2beta1` `Rebalance` objects, as the real stack does it, written by hand from the CRD
/// (operator 2.2.29) and the operator's validating webhook:
///
/// 1. CRD structural schema: unknown fields are pruned (with a warning), defaults are applied (`instanceKind: EMQX`,
///    `sessEvictRate: 500`, `waitTakeover`/`waitHealthCheck: 60`, `abs*Threshold: 1000`, `rel*Threshold: "1.1"`),
///    then required fields (`spec.instanceName`, `spec.rebalanceStrategy`, `spec.rebalanceStrategy.connEvictRate`),
///    types and `connEvictRate >= 1` are checked. Every problem is reported at once, answered 422 `Invalid`.
///    Integer fields are `format: int32`; the simulation also rejects values outside int32 (the operator could not
///    decode them), worded like a `maximum`/`minimum` violation.
/// 2. Webhook `validator.rebalance.emqx.io`: `relConnThreshold`/`relSessThreshold`, when non-empty, must parse as a
///    float; on update the spec must not change (`the Rebalance spec don't allow update`). Answered 403 `Forbidden`
///    with the API server's `admission webhook "…" denied the request: …` wording.
///
/// Relative thresholds ≤ 1.0 are **accepted** here, as by the real CRD and webhook: EMQX rejects them when the
/// operator starts the rebalance, so the Rebalance goes `Failed` (`Failed to start rebalance: …`), as in a real cluster.
public enum RebalanceAdmission {
    /// The webhook's name in denial messages.
    public static let webhookName = "validator.rebalance.emqx.io"

    /// What admission made of an object: the object as stored (pruned, defaulted) and the warnings to send.
    public struct Admitted: Sendable {
        public var object: KubernetesJSON
        public var warnings: [String]
    }

    enum FieldType {
        case string
        case integer(minimum: Int64?)
        case object
    }

    /// `spec` fields: type, default.
    static let specFields: [(name: String, type: FieldType, defaultValue: KubernetesJSON?)] = [
        ("instanceKind", .string, "EMQX"),
        ("instanceName", .string, nil),
        ("rebalanceStrategy", .object, nil),
    ]
    static let strategyFields: [(name: String, type: FieldType, defaultValue: KubernetesJSON?)] = [
        ("connEvictRate", .integer(minimum: 1), nil),
        ("sessEvictRate", .integer(minimum: nil), 500),
        ("waitTakeover", .integer(minimum: nil), 60),
        ("waitHealthCheck", .integer(minimum: nil), 60),
        ("absConnThreshold", .integer(minimum: nil), 1000),
        ("absSessThreshold", .integer(minimum: nil), 1000),
        ("relConnThreshold", .string, "1.1"),
        ("relSessThreshold", .string, "1.1"),
    ]
    static let specRequired = ["instanceKind", "instanceName", "rebalanceStrategy"]
    static let strategyRequired = ["connEvictRate"]
    static let topLevelFields: Set<String> = ["apiVersion", "kind", "metadata", "spec", "status"]

    /// Prunes unknown fields and applies the CRD defaults (the API server's order: prune, default, validate).
    /// Returns the warnings for pruned fields (`unknown field "spec.foo"`).
    public static func pruneAndDefault(_ object: inout KubernetesJSON) -> [String] {
        var warnings: [String] = []
        guard var top = object.objectValue else { return warnings }
        for key in top.keys.sorted() where !topLevelFields.contains(key) {
            top.removeValue(forKey: key)
            warnings.append("unknown field \"\(key)\"")
        }
        if case .object(var spec)? = top["spec"] {
            prune(&spec, known: specFields.map(\.name), path: "spec", warnings: &warnings)
            applyDefaults(&spec, specFields)
            if case .object(var strategy)? = spec["rebalanceStrategy"] {
                prune(&strategy, known: strategyFields.map(\.name), path: "spec.rebalanceStrategy", warnings: &warnings)
                applyDefaults(&strategy, strategyFields)
                spec["rebalanceStrategy"] = .object(strategy)
            }
            top["spec"] = .object(spec)
        }
        object = .object(top)
        return warnings
    }

    private static func prune(
        _ object: inout [String: KubernetesJSON],
        known: [String],
        path: String,
        warnings: inout [String]
    ) {
        for key in object.keys.sorted() where !known.contains(key) {
            object.removeValue(forKey: key)
            warnings.append("unknown field \"\(path).\(key)\"")
        }
    }

    private static func applyDefaults(
        _ object: inout [String: KubernetesJSON],
        _ fields: [(name: String, type: FieldType, defaultValue: KubernetesJSON?)]
    ) {
        for field in fields {
            guard let defaultValue = field.defaultValue else { continue }
            if object[field.name] == nil || object[field.name] == .null { object[field.name] = defaultValue }
        }
    }

    /// The CRD schema's verdict on a pruned, defaulted object: every field error, in schema order.
    public static func schemaErrors(_ object: KubernetesJSON) -> [FieldError] {
        var errors: [FieldError] = []
        guard let spec = object["spec"] else { return errors }  // `spec` is not required by the schema.
        guard case .object(let specObject) = spec else {
            return [typeError("spec", spec, expected: "object")]
        }
        check(specObject, fields: specFields, required: specRequired, path: "spec", into: &errors)
        if case .object(let strategy)? = specObject["rebalanceStrategy"] {
            check(
                strategy,
                fields: strategyFields,
                required: strategyRequired,
                path: "spec.rebalanceStrategy",
                into: &errors
            )
        }
        return errors
    }

    private static func check(
        _ object: [String: KubernetesJSON],
        fields: [(name: String, type: FieldType, defaultValue: KubernetesJSON?)],
        required: [String],
        path: String,
        into errors: inout [FieldError]
    ) {
        for name in required where object[name] == nil {
            errors.append(FieldError(field: "\(path).\(name)", kind: .required(detail: nil)))
        }
        for field in fields {
            guard let value = object[field.name] else { continue }
            let fieldPath = "\(path).\(field.name)"
            switch field.type {
            case .string:
                if value.stringValue == nil { errors.append(typeError(fieldPath, value, expected: "string")) }
            case .object:
                if value.objectValue == nil { errors.append(typeError(fieldPath, value, expected: "object")) }
            case .integer(let minimum):
                guard let number = value.intValue else {
                    errors.append(typeError(fieldPath, value, expected: "integer"))
                    continue
                }
                if let minimum, number < minimum {
                    errors.append(
                        FieldError(
                            field: fieldPath,
                            kind: .invalid(
                                value: String(number),
                                detail: "\(fieldPath) in body should be greater than or equal to \(minimum)"
                            )
                        )
                    )
                } else if number > Int64(Int32.max) {
                    errors.append(
                        FieldError(
                            field: fieldPath,
                            kind: .invalid(
                                value: String(number),
                                detail: "\(fieldPath) in body should be less than or equal to \(Int32.max)"
                            )
                        )
                    )
                } else if number < Int64(Int32.min) {
                    errors.append(
                        FieldError(
                            field: fieldPath,
                            kind: .invalid(
                                value: String(number),
                                detail: "\(fieldPath) in body should be greater than or equal to \(Int32.min)"
                            )
                        )
                    )
                }
            }
        }
    }

    private static func typeError(_ path: String, _ value: KubernetesJSON, expected: String) -> FieldError {
        FieldError(
            field: path,
            kind: .invalid(
                value: "\"\(value.typeName)\"",
                detail: "\(path) in body must be of type \(expected): \"\(value.typeName)\""
            )
        )
    }

    /// The webhook's create check; `nil` when allowed, else its message.
    public static func webhookCreateDenial(_ object: KubernetesJSON) -> String? {
        for field in ["relConnThreshold", "relSessThreshold"] {
            guard let text = object.value(atPath: "spec.rebalanceStrategy.\(field)")?.stringValue, !text.isEmpty else {
                continue
            }
            if parseGoFloat(text) == nil {
                return "the field \".spec.rebalanceStrategy.\(field)\" must be float64"
            }
        }
        return nil
    }

    /// Go's `strconv.ParseFloat(s, 64)` on the forms a user writes (decimal, exponent, `Inf`, `NaN`); `nil` otherwise.
    static func parseGoFloat(_ text: String) -> Double? {
        let lower = text.lowercased()
        if ["inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"].contains(lower) {
            return lower == "nan" ? .nan : (lower.hasPrefix("-") ? -.infinity : .infinity)
        }
        guard text.allSatisfy({ $0.isNumber || "+-.eE_".contains($0) }) else { return nil }
        return Double(text.replacingOccurrences(of: "_", with: ""))
    }

    /// The whole admission of a create: prune, default, schema, webhook. Throws the API server's answer.
    static func admitCreate(_ object: KubernetesJSON, name: String) throws(KubernetesAPIError) -> Admitted {
        var object = object
        let warnings = pruneAndDefault(&object)
        let errors = schemaErrors(object)
        if !errors.isEmpty { throw KubernetesAPIError.invalid(.rebalances, name, errors) }
        if let denial = webhookCreateDenial(object) { throw KubernetesAPIError.webhookDenied(webhookName, denial) }
        return Admitted(object: object, warnings: warnings)
    }

    /// Admission of an update: the new object must pass the schema, and its spec must equal the stored one.
    static func admitUpdate(
        _ object: KubernetesJSON,
        old: KubernetesJSON,
        name: String
    ) throws(KubernetesAPIError) -> Admitted {
        var object = object
        let warnings = pruneAndDefault(&object)
        let errors = schemaErrors(object)
        if !errors.isEmpty { throw KubernetesAPIError.invalid(.rebalances, name, errors) }
        if object["spec"] != old["spec"] {
            throw KubernetesAPIError.webhookDenied(webhookName, "the Rebalance spec don't allow update")
        }
        return Admitted(object: object, warnings: warnings)
    }
}
