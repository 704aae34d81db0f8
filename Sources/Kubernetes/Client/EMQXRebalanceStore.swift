import AutorebalancerCore
import Foundation
import NIOHTTP1

/// The `EMQXRebalance` records of a namespace: the write side of the `emqxAPI` actuator, a seam of its own so the
/// verbs on the record are exactly these. `HTTPKubernetesClient` is the live implementation.
///
/// Every method throws `KubernetesError`.
public protocol EMQXRebalanceStore: Sendable {
    /// `LIST`; a record that does not decode (edited by hand past what the schema checks, or written by another
    /// version) comes back as `.invalid` naming the field, instead of failing the whole list.
    func emqxRebalances(namespace: String) async throws -> [StoredEMQXRebalance]
    func emqxRebalance(namespace: String, name: String) async throws -> EMQXRebalance
    /// `CREATE`, never twice (a lost answer is read back by name first).
    func createEMQXRebalance(_ record: EMQXRebalance) async throws -> EMQXRebalance
    /// Merge patch of `status` through the status subresource; `nil` fields are left as they are.
    func patchEMQXRebalanceStatus(
        namespace: String,
        name: String,
        status: EMQXRebalanceStatus
    ) async throws -> EMQXRebalance
    /// Merge patch of annotations (a `nil` value removes the key) and, when given, the whole finalizer list.
    func patchEMQXRebalanceMetadata(
        namespace: String,
        name: String,
        annotations: [String: String?],
        finalizers: [String]?
    ) async throws -> EMQXRebalance
    func deleteEMQXRebalance(namespace: String, name: String) async throws
}

/// One listed record: decoded, or why not.
public enum StoredEMQXRebalance: Sendable, Hashable {
    case valid(EMQXRebalance)
    /// `field` is the dotted path that did not decode (`spec.strategy.connEvictRate`).
    case invalid(name: String, field: String, problem: String)
}

extension HTTPKubernetesClient: EMQXRebalanceStore {
    public func emqxRebalances(namespace: String) async throws -> [StoredEMQXRebalance] {
        let items: [KubernetesJSONItem] = try await list(.emqxRebalances, namespace: namespace, labelSelector: nil)
        return items.map(StoredEMQXRebalance.init)
    }

    public func emqxRebalance(namespace: String, name: String) async throws -> EMQXRebalance {
        try await get(.emqxRebalances, namespace: namespace, name: name)
    }

    public func createEMQXRebalance(_ record: EMQXRebalance) async throws -> EMQXRebalance {
        try await create(
            .emqxRebalances,
            object: record,
            namespace: record.metadata.namespace,
            name: record.metadata.name
        )
    }

    public func patchEMQXRebalanceStatus(
        namespace: String,
        name: String,
        status: EMQXRebalanceStatus
    ) async throws -> EMQXRebalance {
        let body = try JSONEncoder().encode(["status": status])
        return try await patch(namespace: namespace, name: name, subresource: "/status", body: body)
    }

    public func patchEMQXRebalanceMetadata(
        namespace: String,
        name: String,
        annotations: [String: String?],
        finalizers: [String]?
    ) async throws -> EMQXRebalance {
        struct Metadata: Encodable {
            var annotations: [String: String?]?
            var finalizers: [String]?
        }
        let body = try JSONEncoder().encode([
            "metadata": Metadata(annotations: annotations.isEmpty ? nil : annotations, finalizers: finalizers)
        ])
        return try await patch(namespace: namespace, name: name, subresource: "", body: body)
    }

    public func deleteEMQXRebalance(namespace: String, name: String) async throws {
        let request = KubernetesError.Request(
            verb: "delete",
            resource: .emqxRebalances,
            namespace: namespace,
            name: name
        )
        _ = try await send(
            .DELETE,
            path: KubernetesResource.emqxRebalances.path(namespace: namespace, name: name),
            request: request
        )
    }

    private func patch(namespace: String, name: String, subresource: String, body: Data) async throws -> EMQXRebalance {
        let request = KubernetesError.Request(
            verb: "patch",
            resource: .emqxRebalances,
            namespace: namespace,
            name: name
        )
        return try decode(
            try await send(
                .PATCH,
                path: KubernetesResource.emqxRebalances.path(namespace: namespace, name: name) + subresource,
                body: body,
                contentType: "application/merge-patch+json",
                request: request
            ),
            request: request
        )
    }

}

extension StoredEMQXRebalance {
    /// Decodes one listed item on its own; what does not decode names its field.
    init(_ item: KubernetesJSONItem) {
        do {
            self = .valid(try JSONDecoder().decode(EMQXRebalance.self, from: item.data))
        } catch {
            let problem = DecodingProblem(error)
            self = .invalid(name: item.name, field: problem.field, problem: problem.problem)
        }
    }

    var name: String {
        switch self {
        case .valid(let record): record.metadata.name ?? ""
        case .invalid(let name, _, _): name
        }
    }
}

/// A record as the cache holds it: its metadata, and its decoding (valid or why not).
struct EMQXRebalanceItem: KubernetesObject {
    var metadata: ObjectMeta
    var stored: StoredEMQXRebalance

    init(from decoder: any Decoder) throws {
        let item = try KubernetesJSONItem(from: decoder)
        metadata =
            (try? JSONDecoder().decode(MetadataOnly.self, from: item.data).metadata) ?? ObjectMeta(name: item.name)
        stored = StoredEMQXRebalance(item)
    }

    init(_ record: EMQXRebalance) {
        metadata = record.metadata
        stored = .valid(record)
    }
}

/// A list item kept as raw JSON so each one decodes on its own.
struct KubernetesJSONItem: Codable, Hashable, Sendable {
    var data: Data
    var name: String

    init(from decoder: any Decoder) throws {
        let value = try RawJSON(from: decoder)
        data = try JSONEncoder().encode(value)
        name = value.name ?? ""
    }

    func encode(to encoder: any Encoder) throws {
        try (try JSONDecoder().decode(RawJSON.self, from: data)).encode(to: encoder)
    }
}

/// Any JSON value, decoded and re-encoded faithfully enough for a second decode.
indirect enum RawJSON: Codable, Hashable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case integer(Int64)
    case string(String)
    case array([RawJSON])
    case object([String: RawJSON])

    init(from decoder: any Decoder) throws {
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
        } else if let value = try? container.decode([RawJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: RawJSON].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    var name: String? {
        guard case .object(let top) = self, case .object(let metadata)? = top["metadata"],
            case .string(let name)? = metadata["name"]
        else { return nil }
        return name
    }
}
