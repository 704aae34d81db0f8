import AutorebalancerCore
import Foundation

/// An object the cache can hold: anything the API server lists, with its metadata.
public protocol KubernetesObject: Decodable, Sendable {
    var metadata: ObjectMeta { get }
}

extension Rebalance: KubernetesObject {}
extension Pod: KubernetesObject {}
extension EMQXResource: KubernetesObject {}
extension EMQXResourceV2: KubernetesObject {}
extension EmqxEnterpriseResource: KubernetesObject {}

/// What one list + watch covers: a resource in one namespace, optionally narrowed by a label selector.
public struct WatchScope: Sendable, Hashable, CustomStringConvertible {
    public var resource: KubernetesResource
    public var namespace: String
    /// `key=value,key` as the API server takes it; `nil` for every object.
    public var labelSelector: String?

    public init(resource: KubernetesResource, namespace: String, labelSelector: String? = nil) {
        self.resource = resource
        self.namespace = namespace
        self.labelSelector = labelSelector
    }

    public var description: String {
        "\(resource) in namespace \(namespace)" + (labelSelector.map { " (\($0))" } ?? "")
    }
}

/// A list with the resourceVersion to watch from.
public struct ListedObjects<Object: Sendable>: Sendable {
    public var items: [Object]
    /// The list's `metadata.resourceVersion`; `nil` when the server sent none (then no watch can resume from it).
    public var resourceVersion: String?

    public init(items: [Object], resourceVersion: String?) {
        self.items = items
        self.resourceVersion = resourceVersion
    }
}

/// One event of a watch stream.
public enum WatchEvent<Object: Sendable>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// Nothing changed, but the stream has seen everything up to this resourceVersion (`allowWatchBookmarks`).
    case bookmark(resourceVersion: String)
}

/// The two verbs a cache needs, one seam: `HTTPKubernetesClient` is the live implementation.
///
/// Both throw `KubernetesError`; a watch that can no longer resume (`410 Gone`, also when sent as an `ERROR` event)
/// throws one with `code == .gone`.
public protocol KubernetesWatching: Sendable {
    func list<Object: KubernetesObject>(_ scope: WatchScope, as type: Object.Type) async throws -> ListedObjects<Object>
    /// Hands `onEvent` the changes after `resourceVersion` as they happen; returns when the server ends the stream
    /// (after about `timeout`), throws when it fails.
    func watch<Object: KubernetesObject>(
        _ scope: WatchScope,
        as type: Object.Type,
        from resourceVersion: String,
        timeout: Duration,
        onEvent: @Sendable (WatchEvent<Object>) async throws -> Void
    ) async throws
}
