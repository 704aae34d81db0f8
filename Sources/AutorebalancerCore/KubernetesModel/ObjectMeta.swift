import Foundation

/// The subset of `metav1.ObjectMeta` the agent reads and writes. Timestamps stay strings (RFC 3339) as the API sends
/// them; `KubernetesTime` converts.
public struct ObjectMeta: Sendable, Hashable, Codable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var ownerReferences: [OwnerReference]?
    public var finalizers: [String]?

    public init(
        name: String? = nil,
        namespace: String? = nil,
        labels: [String: String]? = nil,
        annotations: [String: String]? = nil,
        ownerReferences: [OwnerReference]? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
        self.ownerReferences = ownerReferences
    }
}

/// `metav1.OwnerReference`.
public struct OwnerReference: Sendable, Hashable, Codable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(
        apiVersion: String,
        kind: String,
        name: String,
        uid: String,
        controller: Bool? = nil,
        blockOwnerDeletion: Bool? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

/// `metav1.ListMeta` plus items: the shape of every list response.
public struct KubernetesList<Item: Sendable & Hashable & Codable>: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ListMeta?
    public var items: [Item]

    public init(apiVersion: String? = nil, kind: String? = nil, metadata: ListMeta? = nil, items: [Item]) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.items = items
    }
}

public struct ListMeta: Sendable, Hashable, Codable {
    public var resourceVersion: String?
    public var `continue`: String?

    public init(resourceVersion: String? = nil) {
        self.resourceVersion = resourceVersion
    }
}

/// `metav1.Status`, the body of every API error (and of successful deletes).
public struct KubernetesStatus: Sendable, Hashable, Codable, Error {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Status"
    public var status: String?
    public var message: String?
    public var reason: String?
    public var code: Int?
    public var details: Details?

    public struct Details: Sendable, Hashable, Codable {
        public var name: String?
        public var group: String?
        public var kind: String?
        public var causes: [Cause]?

        public init(name: String? = nil, group: String? = nil, kind: String? = nil, causes: [Cause]? = nil) {
            self.name = name
            self.group = group
            self.kind = kind
            self.causes = causes
        }
    }

    public struct Cause: Sendable, Hashable, Codable {
        public var reason: String?
        public var message: String?
        public var field: String?

        public init(reason: String? = nil, message: String? = nil, field: String? = nil) {
            self.reason = reason
            self.message = message
            self.field = field
        }
    }

    public init(status: String, message: String?, reason: String?, code: Int, details: Details? = nil) {
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code
        self.details = details
    }
}

/// RFC 3339 timestamps as Kubernetes writes them: `Time` has whole seconds, `MicroTime` (Leases, Events) six decimals.
public enum KubernetesTime {
    /// `2026-11-20T10:22:00Z`
    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false))
    }

    /// `2026-11-20T10:22:00.000000Z`
    public static func formatMicro(_ date: Date) -> String {
        let whole = floor(date.timeIntervalSince1970)
        let scaled = (date.timeIntervalSince1970 - whole) * 1_000_000
        let micros = scaled.isFinite ? Int(max(0, scaled).rounded()) : 0
        let base = format(Date(timeIntervalSince1970: whole)).dropLast()  // drop "Z"
        let fraction = String(min(micros, 999_999))
        return "\(base).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)Z"
    }

    /// Parses both forms (and any number of fractional digits); `nil` for anything else.
    public static func parse(_ text: String?) -> Date? {
        guard let text, !text.isEmpty else { return nil }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: false)) {
            return date
        }
        // Fractional seconds of any length: split them off and add them back.
        guard let dot = text.firstIndex(of: "."),
            let zoneStart = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" })
        else { return nil }
        let fractionText = text[text.index(after: dot)..<zoneStart]
        guard let fraction = Double("0." + fractionText),
            let base = try? Date(
                String(text[..<dot] + text[zoneStart...]),
                strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: false)
            )
        else { return nil }
        return base.addingTimeInterval(fraction)
    }
}

/// Any object read for its metadata only (list items whose kind-specific fields the reader does not need).
public struct MetadataOnly: Sendable, Hashable, Codable {
    public var metadata: ObjectMeta

    public init(metadata: ObjectMeta) { self.metadata = metadata }
}
