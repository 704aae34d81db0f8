import AutorebalancerCore
import Foundation

/// The `KubernetesAPI` the loop reads through: the EMQX objects, their pods and the Rebalances come from
/// `KubernetesCache` while it holds them current, so a cycle asks the API server nothing it already knows; everything
/// else, and every read the cache cannot answer, goes to the live client. Writes go to the live client, and what they
/// return is remembered at once, so the next cycle sees the agent's own writes even before their watch events.
///
/// An object the cache does not hold is read live rather than reported missing: the cache can make a read cheaper,
/// never different.
public final class CachedKubernetesAPI: KubernetesAPI {
    public let live: any KubernetesAPI
    public let cache: KubernetesCache

    public init(live: any KubernetesAPI, cache: KubernetesCache) {
        self.live = live
        self.cache = cache
    }

    // MARK: Scopes

    /// The pods of every EMQX cluster of a namespace are one scope; a cluster's pods are filtered from it.
    static let podSelector = Pod.instanceLabel

    func emqxReflector(_ version: EMQXObjectVersion, _ namespace: String) -> any EMQXObjectReflector {
        let scope = WatchScope(resource: .emqxObjects(version), namespace: namespace)
        switch version {
        case .v2beta1: return cache.reflector(scope, as: EMQXResource.self)
        case .v2, .v3beta1: return cache.reflector(scope, as: EMQXResourceV2.self)
        case .v1beta4: return cache.reflector(scope, as: EmqxEnterpriseResource.self)
        }
    }

    func rebalanceReflector(_ namespace: String) -> Reflector<Rebalance> {
        cache.reflector(WatchScope(resource: .rebalances, namespace: namespace), as: Rebalance.self)
    }

    // MARK: EMQX objects and pods

    public func emqxObject(_ version: EMQXObjectVersion, namespace: String, name: String) async throws -> ClusterObject
    {
        if let cached = emqxReflector(version, namespace).clusterObject(named: name, version: version) { return cached }
        return try await live.emqxObject(version, namespace: namespace, name: name)
    }

    public func emqxObjects(_ version: EMQXObjectVersion, namespace: String) async throws -> [ObjectMeta] {
        if let cached = emqxReflector(version, namespace).metadata() {
            return cached.sorted { ($0.name ?? "") < ($1.name ?? "") }
        }
        return try await live.emqxObjects(version, namespace: namespace)
    }

    public func emqxScale(_ version: EMQXObjectVersion, namespace: String, name: String) async throws -> Scale {
        try await live.emqxScale(version, namespace: namespace, name: name)
    }

    public func pods(namespace: String, labelSelector: String?) async throws -> [Pod] {
        if let wanted = EqualitySelector(labelSelector), wanted.labels[Self.podSelector] != nil,
            let cached = cache.reflector(
                WatchScope(resource: .pods, namespace: namespace, labelSelector: Self.podSelector),
                as: Pod.self
            ).objects()
        {
            return cached.filter { wanted.matches($0.metadata.labels) }.sorted {
                ($0.metadata.name ?? "") < ($1.metadata.name ?? "")
            }
        }
        return try await live.pods(namespace: namespace, labelSelector: labelSelector)
    }

    // MARK: Rebalances

    public func createRebalance(_ rebalance: Rebalance) async throws -> Rebalance {
        let created = try await live.createRebalance(rebalance)
        rebalanceReflector(created.metadata.namespace ?? rebalance.metadata.namespace ?? "default").remember(created)
        return created
    }

    public func rebalance(namespace: String, name: String) async throws -> Rebalance {
        if case let found?? = rebalanceReflector(namespace).object(named: name) { return found }
        return try await live.rebalance(namespace: namespace, name: name)
    }

    public func rebalances(namespace: String, labelSelector: String?) async throws -> [Rebalance] {
        if let wanted = EqualitySelector(labelSelector), let cached = rebalanceReflector(namespace).objects() {
            return cached.filter { wanted.matches($0.metadata.labels) }.sorted {
                ($0.metadata.name ?? "") < ($1.metadata.name ?? "")
            }
        }
        return try await live.rebalances(namespace: namespace, labelSelector: labelSelector)
    }

    public func patchRebalanceMetadata(
        namespace: String,
        name: String,
        labels: [String: String?],
        annotations: [String: String?]
    ) async throws -> Rebalance {
        let patched = try await live.patchRebalanceMetadata(
            namespace: namespace,
            name: name,
            labels: labels,
            annotations: annotations
        )
        rebalanceReflector(namespace).remember(patched)
        return patched
    }

    public func deleteRebalance(namespace: String, name: String) async throws {
        try await live.deleteRebalance(namespace: namespace, name: name)
    }

    // MARK: Leases, Events, discovery: always live

    public func lease(namespace: String, name: String) async throws -> Lease {
        try await live.lease(namespace: namespace, name: name)
    }

    public func createLease(_ lease: Lease) async throws -> Lease {
        try await live.createLease(lease)
    }

    public func updateLease(_ lease: Lease) async throws -> Lease {
        try await live.updateLease(lease)
    }

    public func createEventV1(_ event: EventsV1Event) async throws -> EventsV1Event {
        try await live.createEventV1(event)
    }

    public func patchEventV1Series(namespace: String, name: String, series: EventSeries) async throws -> EventsV1Event {
        try await live.patchEventV1Series(namespace: namespace, name: name, series: series)
    }

    public func createEvent(_ event: KubernetesEvent) async throws -> KubernetesEvent {
        try await live.createEvent(event)
    }

    public func patchEvent(
        namespace: String,
        name: String,
        count: Int,
        lastTimestamp: String
    ) async throws -> KubernetesEvent {
        try await live.patchEvent(namespace: namespace, name: name, count: count, lastTimestamp: lastTimestamp)
    }

    public func servedResources(groupVersion: String) async throws -> [String] {
        try await live.servedResources(groupVersion: groupVersion)
    }

    public func servedVersions(group: String) async throws -> [String] {
        try await live.servedVersions(group: group)
    }
}

/// A reflector of one EMQX object version, seen as `ClusterObject`s.
protocol EMQXObjectReflector {
    /// `nil` when the store is not current or holds no such object.
    func clusterObject(named name: String, version: EMQXObjectVersion) -> ClusterObject?
    /// `nil` when the store is not current.
    func metadata() -> [ObjectMeta]?
}

extension Reflector: EMQXObjectReflector where Object: EMQXObjectWire {
    func clusterObject(named name: String, version: EMQXObjectVersion) -> ClusterObject? {
        guard case let object?? = object(named: name) else { return nil }
        return object.clusterObject(at: version)
    }

    func metadata() -> [ObjectMeta]? {
        objects()?.map(\.metadata)
    }
}

/// The wire types of the EMQX resource versions.
protocol EMQXObjectWire: KubernetesObject {
    func clusterObject(at version: EMQXObjectVersion) -> ClusterObject
}

extension EMQXResource: EMQXObjectWire {
    func clusterObject(at version: EMQXObjectVersion) -> ClusterObject { .emqx(self) }
}

extension EMQXResourceV2: EMQXObjectWire {
    func clusterObject(at version: EMQXObjectVersion) -> ClusterObject {
        version == .v3beta1 ? .emqxV3beta1(self) : .emqxV2(self)
    }
}

extension EmqxEnterpriseResource: EMQXObjectWire {
    func clusterObject(at version: EMQXObjectVersion) -> ClusterObject { .emqxEnterprise(self) }
}

/// A label selector of equality terms only (`a=b,c=d`), the only kind the cache filters by itself; any other
/// selector is answered live. `nil` text selects everything.
struct EqualitySelector {
    var labels: [String: String]

    init?(_ text: String?) {
        labels = [:]
        guard let text, !text.isEmpty else { return }
        for term in text.split(separator: ",") {
            let parts = term.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].hasSuffix("!"), !parts[1].hasPrefix("=") else { return nil }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, !key.contains(" "), !key.contains("(") else { return nil }
            labels[key] = parts[1].trimmingCharacters(in: .whitespaces)
        }
    }

    func matches(_ objectLabels: [String: String]?) -> Bool {
        labels.allSatisfy { objectLabels?[$0.key] == $0.value }
    }
}

// MARK: The agent's records

extension CachedKubernetesAPI: EMQXRebalanceStore {
    func records() throws -> any EMQXRebalanceStore {
        guard let store = live as? any EMQXRebalanceStore else {
            throw KubernetesError(
                code: .unsupported,
                request: nil,
                detail: "this Kubernetes client keeps no EMQXRebalance records"
            )
        }
        return store
    }

    func recordReflector(_ namespace: String) -> Reflector<EMQXRebalanceItem> {
        cache.reflector(WatchScope(resource: .emqxRebalances, namespace: namespace), as: EMQXRebalanceItem.self)
    }

    public func emqxRebalances(namespace: String) async throws -> [StoredEMQXRebalance] {
        if let cached = recordReflector(namespace).objects() {
            return cached.map(\.stored).sorted { $0.name < $1.name }
        }
        return try await records().emqxRebalances(namespace: namespace)
    }

    public func emqxRebalance(namespace: String, name: String) async throws -> EMQXRebalance {
        if case let item?? = recordReflector(namespace).object(named: name), case .valid(let record) = item.stored {
            return record
        }
        return try await records().emqxRebalance(namespace: namespace, name: name)
    }

    public func createEMQXRebalance(_ record: EMQXRebalance) async throws -> EMQXRebalance {
        remembered(try await records().createEMQXRebalance(record), namespace: record.metadata.namespace)
    }

    public func patchEMQXRebalanceStatus(
        namespace: String,
        name: String,
        status: EMQXRebalanceStatus
    ) async throws -> EMQXRebalance {
        remembered(
            try await records().patchEMQXRebalanceStatus(namespace: namespace, name: name, status: status),
            namespace: namespace
        )
    }

    public func patchEMQXRebalanceMetadata(
        namespace: String,
        name: String,
        annotations: [String: String?],
        finalizers: [String]?
    ) async throws -> EMQXRebalance {
        remembered(
            try await records().patchEMQXRebalanceMetadata(
                namespace: namespace,
                name: name,
                annotations: annotations,
                finalizers: finalizers
            ),
            namespace: namespace
        )
    }

    public func deleteEMQXRebalance(namespace: String, name: String) async throws {
        try await records().deleteEMQXRebalance(namespace: namespace, name: name)
    }

    private func remembered(_ record: EMQXRebalance, namespace: String?) -> EMQXRebalance {
        recordReflector(record.metadata.namespace ?? namespace ?? "default").remember(EMQXRebalanceItem(record))
        return record
    }
}
