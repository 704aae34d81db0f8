import Foundation
import Synchronization

/// The simulated API server's storage: JSON documents keyed by resource, namespace and name, with one global
/// revision counter that becomes every write's `metadata.resourceVersion` (as etcd's revision does).
final class KubernetesObjectStore: Sendable {
    struct Key: Hashable, Comparable {
        var resource: String
        var namespace: String
        var name: String

        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.resource, lhs.namespace, lhs.name) < (rhs.resource, rhs.namespace, rhs.name)
        }
    }

    struct State {
        var objects: [Key: KubernetesJSON] = [:]
        var revision: Int64 = 1000
        /// What watches replay and are sent (see KubernetesObjectStore+Watch.swift).
        var watch: WatchLog
    }

    let state: Mutex<State>
    let now: @Sendable () -> Date

    /// - Parameter watchHistory: how many changes a watch can resume from; a watch from an older resourceVersion is
    ///   answered `410 Gone`, as after etcd's compaction.
    init(now: @escaping @Sendable () -> Date, watchHistory: Int = 1000) {
        self.now = now
        self.state = Mutex(State(watch: WatchLog(limit: watchHistory)))
    }

    var revision: Int64 { state.withLock { $0.revision } }

    func get(_ type: ResourceType, namespace: String, name: String) -> KubernetesJSON? {
        state.withLock { $0.objects[Key(resource: type.qualifiedName, namespace: namespace, name: name)] }
    }

    /// Objects of a type, sorted by namespace then name; `namespace == nil` lists every namespace.
    func list(_ type: ResourceType, namespace: String?) -> (items: [KubernetesJSON], revision: Int64) {
        state.withLock { state in
            let items = state.objects.filter { key, _ in
                key.resource == type.qualifiedName && (namespace == nil || key.namespace == namespace)
            }.sorted { $0.key < $1.key }.map(\.value)
            return (items, state.revision)
        }
    }

    /// Stores a new object: fills `uid`, `resourceVersion`, `creationTimestamp`, `generation` and the namespace.
    func create(
        _ type: ResourceType,
        namespace: String,
        object: KubernetesJSON
    ) throws(KubernetesAPIError) -> KubernetesJSON {
        let name = object.value(atPath: "metadata.name")?.stringValue ?? ""
        let timestamp = KubernetesTimeText.seconds(now())
        return try state.withLock { state throws(KubernetesAPIError) -> KubernetesJSON in
            let key = Key(resource: type.qualifiedName, namespace: namespace, name: name)
            if state.objects[key] != nil { throw KubernetesAPIError.alreadyExists(type, name) }
            state.revision += 1
            var object = object
            var metadata = object["metadata"]?.objectValue ?? [:]
            metadata["namespace"] = .string(namespace)
            metadata["uid"] = .string(UUID().uuidString.lowercased())
            metadata["resourceVersion"] = .string(String(state.revision))
            metadata["creationTimestamp"] = .string(timestamp)
            if !type.group.isEmpty && type.group != "coordination.k8s.io" { metadata["generation"] = 1 }
            metadata.removeValue(forKey: "deletionTimestamp")
            object["metadata"] = .object(metadata)
            state.objects[key] = object
            state.record(.added, key, object, previous: nil)
            return object
        }
    }

    /// Read-modify-write under the lock. `transform` gets the stored object and returns the new one (or throws the
    /// answer). System fields are kept from the stored object; the resourceVersion is bumped; `generation` is bumped
    /// when the spec changed. An object being deleted whose last finalizer is gone is removed. Returns the new object
    /// and whether it was removed.
    @discardableResult
    func update(
        _ type: ResourceType,
        namespace: String,
        name: String,
        _ transform: (KubernetesJSON) throws(KubernetesAPIError) -> KubernetesJSON
    ) throws(KubernetesAPIError) -> (object: KubernetesJSON, removed: Bool) {
        try state.withLock { state throws(KubernetesAPIError) -> (object: KubernetesJSON, removed: Bool) in
            let key = Key(resource: type.qualifiedName, namespace: namespace, name: name)
            guard let old = state.objects[key] else { throw KubernetesAPIError.notFound(type, name) }
            var new = try transform(old)
            if new == old { return (old, false) }
            state.revision += 1
            var metadata = new["metadata"]?.objectValue ?? [:]
            let oldMetadata = old["metadata"]?.objectValue ?? [:]
            for field in ["uid", "creationTimestamp", "namespace", "name", "deletionTimestamp", "generation"] {
                metadata[field] = oldMetadata[field]
            }
            if let generation = oldMetadata["generation"]?.intValue, new["spec"] != old["spec"] {
                metadata["generation"] = .integer(generation + 1)
            }
            metadata["resourceVersion"] = .string(String(state.revision))
            new["metadata"] = .object(metadata)
            let finalizers = metadata["finalizers"]?.arrayValue ?? []
            if metadata["deletionTimestamp"] != nil && finalizers.isEmpty {
                state.objects.removeValue(forKey: key)
                state.record(.deleted, key, new, previous: old)
                return (new, true)
            }
            state.objects[key] = new
            state.record(.modified, key, new, previous: old)
            return (new, false)
        }
    }

    /// Deletes: with finalizers, only sets `deletionTimestamp` (the object stays until they are removed).
    func delete(
        _ type: ResourceType,
        namespace: String,
        name: String,
        preconditions: KubernetesJSON?
    ) throws(KubernetesAPIError) -> (object: KubernetesJSON, removed: Bool) {
        let timestamp = KubernetesTimeText.seconds(now())
        return try state.withLock { state throws(KubernetesAPIError) -> (object: KubernetesJSON, removed: Bool) in
            let key = Key(resource: type.qualifiedName, namespace: namespace, name: name)
            guard var object = state.objects[key] else { throw KubernetesAPIError.notFound(type, name) }
            if let uid = preconditions?["uid"]?.stringValue,
                let actual = object.value(atPath: "metadata.uid")?.stringValue, uid != actual
            {
                throw KubernetesAPIError.conflict(
                    type,
                    name,
                    "Precondition failed: UID in precondition: \(uid), UID in object meta: \(actual)"
                )
            }
            if let rv = preconditions?["resourceVersion"]?.stringValue,
                let actual = object.value(atPath: "metadata.resourceVersion")?.stringValue, rv != actual
            {
                throw KubernetesAPIError.conflict(
                    type,
                    name,
                    "Precondition failed: ResourceVersion in precondition: \(rv), ResourceVersion in object meta: \(actual)"
                )
            }
            let finalizers = object.value(atPath: "metadata.finalizers")?.arrayValue ?? []
            if finalizers.isEmpty {
                state.objects.removeValue(forKey: key)
                state.recordRemoval(key, object)
                return (object, true)
            }
            if object.value(atPath: "metadata.deletionTimestamp") == nil {
                let old = object
                state.revision += 1
                var metadata = object["metadata"]?.objectValue ?? [:]
                metadata["deletionTimestamp"] = .string(timestamp)
                metadata["deletionGracePeriodSeconds"] = 0
                metadata["resourceVersion"] = .string(String(state.revision))
                object["metadata"] = .object(metadata)
                state.objects[key] = object
                state.record(.modified, key, object, previous: old)
            }
            return (object, false)
        }
    }

    /// Stores an object as given (scenario set-up, bypassing admission); fills missing system fields.
    func put(_ type: ResourceType, namespace: String, object: KubernetesJSON) -> KubernetesJSON {
        let timestamp = KubernetesTimeText.seconds(now())
        return state.withLock { state in
            let name = object.value(atPath: "metadata.name")?.stringValue ?? ""
            let key = Key(resource: type.qualifiedName, namespace: namespace, name: name)
            state.revision += 1
            var object = object
            var metadata = object["metadata"]?.objectValue ?? [:]
            let old = state.objects[key]?["metadata"]?.objectValue
            metadata["namespace"] = .string(namespace)
            metadata["uid"] = metadata["uid"] ?? old?["uid"] ?? .string(UUID().uuidString.lowercased())
            metadata["creationTimestamp"] =
                metadata["creationTimestamp"] ?? old?["creationTimestamp"] ?? .string(timestamp)
            metadata["generation"] = metadata["generation"] ?? old?["generation"] ?? 1
            metadata["resourceVersion"] = .string(String(state.revision))
            object["metadata"] = .object(metadata)
            if object["apiVersion"] == nil { object["apiVersion"] = .string(type.apiVersion) }
            if object["kind"] == nil { object["kind"] = .string(type.kind) }
            let previous = state.objects[key]
            state.objects[key] = object
            state.record(previous == nil ? .added : .modified, key, object, previous: previous)
            return object
        }
    }

    /// Removes an object outright (scenario: the EMQX object is deleted).
    func remove(_ type: ResourceType, namespace: String, name: String) {
        state.withLock { state in
            let key = Key(resource: type.qualifiedName, namespace: namespace, name: name)
            if let object = state.objects.removeValue(forKey: key) {
                state.recordRemoval(key, object)
            } else {
                state.revision += 1
            }
        }
    }
}

/// RFC 3339 texts as the API server writes them.
enum KubernetesTimeText {
    static func seconds(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false))
    }
}
