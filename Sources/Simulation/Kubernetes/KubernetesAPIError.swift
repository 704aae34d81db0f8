import AutorebalancerCore
import Foundation

/// The identity of a served resource, as error messages and discovery name it.
public struct ResourceType: Sendable, Hashable {
    /// API group (`""` for the core group).
    public var group: String
    public var version: String
    /// Plural, lowercase (`rebalances`).
    public var plural: String
    public var singular: String
    public var kind: String
    public var namespaced: Bool = true
    public var shortNames: [String] = []
    public var verbs: [String]

    /// `rebalances.apps.emqx.io`, or `events` for the core group: the qualified name the API server uses in messages.
    public var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }
    /// `Rebalance.apps.emqx.io`: the kind-qualified name used in `is invalid` messages.
    public var qualifiedKind: String { group.isEmpty ? kind : "\(kind).\(group)" }
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    public static let rebalances = ResourceType(
        group: "apps.emqx.io",
        version: "v2beta1",
        plural: "rebalances",
        singular: "rebalance",
        kind: "Rebalance",
        verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
    )
    public static let emqxes = ResourceType(
        group: "apps.emqx.io",
        version: "v2beta1",
        plural: "emqxes",
        singular: "emqx",
        kind: "EMQX",
        shortNames: ["emqx"],
        verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
    )
    public static let emqxEnterprises = ResourceType(
        group: "apps.emqx.io",
        version: "v1beta4",
        plural: "emqxenterprises",
        singular: "emqxenterprise",
        kind: "EmqxEnterprise",
        verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
    )
    public static let leases = ResourceType(
        group: "coordination.k8s.io",
        version: "v1",
        plural: "leases",
        singular: "lease",
        kind: "Lease",
        verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )
    public static let events = ResourceType(
        group: "",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        shortNames: ["ev"],
        verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )

    /// `events.k8s.io/v1` Events (stored apart from core/v1 ones here; ``SimulatedKubernetesAPI/events(namespace:)``
    /// shows both, as the real API server's shared storage does).
    public static let eventsV1 = ResourceType(
        group: "events.k8s.io",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        shortNames: ["ev"],
        verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )

    /// The agent's own record of a rebalance through EMQX's API (deploy/crds), admitted against its CRD schema.
    public static let emqxRebalances = ResourceType(
        group: "autorebalancer.emqx.io",
        version: "v1alpha1",
        plural: "emqxrebalances",
        singular: "emqxrebalance",
        kind: "EMQXRebalance",
        shortNames: ["emqxrb"],
        verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
    )

    /// `apps.emqx.io/v2` `EMQX` (operator 2.3).
    public static let emqxesV2 = ResourceType(
        group: "apps.emqx.io",
        version: "v2",
        plural: "emqxes",
        singular: "emqx",
        kind: "EMQX",
        shortNames: ["emqx"],
        verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
    )
    /// `apps.emqx.io/v3beta1` `EMQX` (operator 3.0).
    public static let emqxesV3beta1 = ResourceType(
        group: "apps.emqx.io",
        version: "v3beta1",
        plural: "emqxes",
        singular: "emqx",
        kind: "EMQX",
        shortNames: ["emqx"],
        verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
    )
    public static let pods = ResourceType(
        group: "",
        version: "v1",
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        shortNames: ["po"],
        verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )

    /// What an API server with that EMQX Operator generation installed serves (2.2 unless 2.3 or 3.0): 2.3 serves
    /// `EMQX` as `v2` and drops `EmqxEnterprise`; 3.0 serves `EMQX` as `v3beta1` only and no `Rebalance`. (A real 2.3
    /// still serves the deprecated `v2beta1` through a conversion webhook; the simulation serves the current version
    /// only.)
    public static func served(by generation: OperatorGeneration) -> [ResourceType] {
        let always: [ResourceType] = [.leases, .events, .eventsV1, .pods, .emqxRebalances]
        switch generation {
        case .v2_3: return [.rebalances, .emqxesV2] + always
        case .v3_0: return [.emqxesV3beta1] + always
        default: return [.rebalances, .emqxes, .emqxEnterprises] + always
        }
    }

    /// The version of the EMQX object this type serves, for EMQX kinds.
    var emqxObjectVersion: EMQXObjectVersion? {
        guard group == OperatorAPIs.group, plural == "emqxes" || plural == "emqxenterprises" else { return nil }
        return EMQXObjectVersion(rawValue: version)
    }

    /// Resources whose CRD has a status subresource the simulation serves writes to (`…/status`).
    var servesStatusWrites: Bool { self == .emqxRebalances }
}

/// An error answered as a `metav1.Status` object, worded like the real API server's.
struct KubernetesAPIError: Error, Sendable {
    var code: Int
    var reason: String
    var message: String
    var details: KubernetesJSON?
    var retryAfterSeconds: Int?

    /// The `Status` body.
    var body: KubernetesJSON {
        var object: [String: KubernetesJSON] = [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .integer(Int64(code)),
        ]
        if let details { object["details"] = details }
        return .object(object)
    }

    private static func details(
        _ name: String?,
        _ type: ResourceType,
        kind: String? = nil,
        causes: [KubernetesJSON]? = nil
    ) -> KubernetesJSON {
        var object: [String: KubernetesJSON] = ["kind": .string(kind ?? type.plural)]
        if let name { object["name"] = .string(name) }
        if !type.group.isEmpty { object["group"] = .string(type.group) }
        if let causes { object["causes"] = .array(causes) }
        return .object(object)
    }

    static func notFound(_ type: ResourceType, _ name: String) -> KubernetesAPIError {
        KubernetesAPIError(
            code: 404,
            reason: "NotFound",
            message: "\(type.qualifiedName) \"\(name)\" not found",
            details: details(name, type)
        )
    }

    static func alreadyExists(_ type: ResourceType, _ name: String) -> KubernetesAPIError {
        KubernetesAPIError(
            code: 409,
            reason: "AlreadyExists",
            message: "\(type.qualifiedName) \"\(name)\" already exists",
            details: details(name, type)
        )
    }

    static func conflict(
        _ type: ResourceType,
        _ name: String,
        _ why: String = "the object has been modified; please apply your changes to the latest version and try again"
    ) -> KubernetesAPIError {
        KubernetesAPIError(
            code: 409,
            reason: "Conflict",
            message: "Operation cannot be fulfilled on \(type.qualifiedName) \"\(name)\": \(why)",
            details: details(name, type)
        )
    }

    /// The RBAC denial: `rebalances.apps.emqx.io "x" is forbidden: User "u" cannot create resource "rebalances" in
    /// API group "apps.emqx.io" in the namespace "default"`.
    static func forbidden(
        _ type: ResourceType,
        name: String?,
        user: String,
        verb: String,
        namespace: String?
    ) -> KubernetesAPIError {
        let subject = name.map { "\(type.qualifiedName) \"\($0)\"" } ?? type.qualifiedName
        let scope = namespace.map { "in the namespace \"\($0)\"" } ?? "at the cluster scope"
        return KubernetesAPIError(
            code: 403,
            reason: "Forbidden",
            message:
                "\(subject) is forbidden: User \"\(user)\" cannot \(verb) resource \"\(type.plural)\" in API group \"\(type.group)\" \(scope)",
            details: details(name, type)
        )
    }

    /// A validating admission webhook's denial (controller-runtime `admission.Denied`: 403 Forbidden).
    static func webhookDenied(_ webhook: String, _ message: String) -> KubernetesAPIError {
        KubernetesAPIError(
            code: 403,
            reason: "Forbidden",
            message: "admission webhook \"\(webhook)\" denied the request: \(message)"
        )
    }

    static func invalid(_ type: ResourceType, _ name: String, _ causes: [FieldError]) -> KubernetesAPIError {
        let list = causes.map(\.text)
        let summary = list.count == 1 ? list[0] : "[\(list.joined(separator: ", "))]"
        let causeObjects: [KubernetesJSON] = causes.map {
            .object(["reason": .string($0.reason), "message": .string($0.detailText), "field": .string($0.field)])
        }
        return KubernetesAPIError(
            code: 422,
            reason: "Invalid",
            message: "\(type.qualifiedKind) \"\(name)\" is invalid: \(summary)",
            details: details(name, type, kind: type.kind, causes: causeObjects)
        )
    }

    static func badRequest(_ message: String) -> KubernetesAPIError {
        KubernetesAPIError(code: 400, reason: "BadRequest", message: message)
    }

    static let unauthorized = KubernetesAPIError(code: 401, reason: "Unauthorized", message: "Unauthorized")

    static func methodNotAllowed(_ method: String) -> KubernetesAPIError {
        KubernetesAPIError(
            code: 405,
            reason: "MethodNotAllowed",
            message: "the server does not allow this method on the requested resource"
        )
    }

    static func unsupportedMediaType(_ contentType: String) -> KubernetesAPIError {
        KubernetesAPIError(
            code: 415,
            reason: "UnsupportedMediaType",
            message:
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        )
    }

    static func pathNotFound() -> KubernetesAPIError {
        KubernetesAPIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
    }

    static func tooManyRequests(retryAfter: Int) -> KubernetesAPIError {
        KubernetesAPIError(
            code: 429,
            reason: "TooManyRequests",
            message: "Too many requests, please try again later.",
            details: .object(["retryAfterSeconds": .integer(Int64(retryAfter))]),
            retryAfterSeconds: retryAfter
        )
    }

    static func internalError(_ text: String) -> KubernetesAPIError {
        KubernetesAPIError(
            code: 500,
            reason: "InternalError",
            message: "Internal error occurred: \(text)",
            details: .object(["causes": .array([.object(["message": .string(text)])])])
        )
    }
}

/// One field problem of a 422 Invalid answer, as `field.Error` renders it.
public struct FieldError: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case required(detail: String?)
        case invalid(value: String, detail: String)
    }

    /// Dotted path (`spec.rebalanceStrategy.connEvictRate`).
    public var field: String
    public var kind: Kind

    public init(field: String, kind: Kind) {
        self.field = field
        self.kind = kind
    }

    var reason: String {
        switch kind {
        case .required: return "FieldValueRequired"
        case .invalid: return "FieldValueInvalid"
        }
    }

    /// `Required value` / `Invalid value: 0: detail`, without the field.
    var detailText: String {
        switch kind {
        case .required(let detail): return detail.map { "Required value: \($0)" } ?? "Required value"
        case .invalid(let value, let detail): return "Invalid value: \(value): \(detail)"
        }
    }

    /// `spec.x: Invalid value: 0: spec.x in body should be greater than or equal to 1`.
    public var text: String { "\(field): \(detailText)" }
    public var description: String { text }
}
