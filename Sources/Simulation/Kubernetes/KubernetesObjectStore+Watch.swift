import Foundation

/// One change to a stored object, as a watch sends it.
struct StoredChange: Sendable {
    enum Kind: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    var revision: Int64
    var kind: Kind
    var key: KubernetesObjectStore.Key
    var object: KubernetesJSON
    /// The object before the change (`nil` for an addition): a watch with a label selector sends `DELETED` for an
    /// object that stopped matching.
    var previous: KubernetesJSON?
}

/// What an open watch receives.
enum WatchMessage: Sendable {
    case change(StoredChange)
    /// The current revision, for `allowWatchBookmarks`.
    case bookmark(Int64)
}

/// The bounded history of changes watches resume from, and the open watches. Like etcd after a compaction, a watch
/// from a revision older than the history is refused (`410 Gone`), so the client must list again.
struct WatchLog {
    struct Subscriber {
        var resource: String
        var namespace: String?
        var continuation: AsyncStream<WatchMessage>.Continuation
    }

    let limit: Int
    private(set) var changes: [StoredChange] = []
    /// Changes up to and including this revision are no longer held.
    private(set) var compactedThrough: Int64 = 0
    var subscribers: [Int: Subscriber] = [:]
    var nextID = 0
    /// After the server began to shut down no watch is opened, so none holds the shutdown up.
    var closed = false

    init(limit: Int) { self.limit = max(1, limit) }

    mutating func append(_ change: StoredChange) {
        changes.append(change)
        // Trimmed in batches, so appending stays amortised O(1).
        if changes.count > 2 * limit {
            let dropped = changes.count - limit
            compactedThrough = changes[dropped - 1].revision
            changes.removeFirst(dropped)
        }
        for subscriber in subscribers.values
        where subscriber.resource == change.key.resource
            && (subscriber.namespace == nil || subscriber.namespace == change.key.namespace)
        {
            subscriber.continuation.yield(.change(change))
        }
    }

    mutating func compact(through revision: Int64) {
        compactedThrough = max(compactedThrough, revision)
        changes.removeAll { $0.revision <= compactedThrough }
    }
}

extension KubernetesObjectStore.State {
    /// Appends a change to the watch history and sends it to the open watches it concerns.
    mutating func record(
        _ kind: StoredChange.Kind,
        _ key: KubernetesObjectStore.Key,
        _ object: KubernetesJSON,
        previous: KubernetesJSON?
    ) {
        let stamped = object.value(atPath: "metadata.resourceVersion")?.stringValue.flatMap { Int64($0) } ?? revision
        watch.append(StoredChange(revision: stamped, kind: kind, key: key, object: object, previous: previous))
    }

    /// A removal is a write of its own (a new revision), as in etcd.
    mutating func recordRemoval(_ key: KubernetesObjectStore.Key, _ object: KubernetesJSON) {
        revision += 1
        var removed = object
        removed["metadata"]?["resourceVersion"] = .string(String(revision))
        record(.deleted, key, removed, previous: object)
    }
}

extension KubernetesObjectStore {
    enum WatchStart {
        /// The revision asked for is older than the history.
        case gone(requested: Int64, oldest: Int64)
        case refused
        case started(id: Int, replay: [StoredChange], messages: AsyncStream<WatchMessage>)
    }

    /// Opens a watch of a type (in one namespace, or all): the changes after `resourceVersion`, then every later
    /// one. Without a resourceVersion (or "0") the current objects come first as `ADDED`, as the API server does.
    func watch(_ type: ResourceType, namespace: String?, from resourceVersion: Int64?) -> WatchStart {
        state.withLock { state in
            if state.watch.closed { return .refused }
            let resource = type.qualifiedName
            var replay: [StoredChange]
            if let from = resourceVersion, from > 0 {
                if from < state.watch.compactedThrough {
                    return .gone(requested: from, oldest: state.watch.compactedThrough + 1)
                }
                replay = state.watch.changes.filter {
                    $0.revision > from && $0.key.resource == resource
                        && (namespace == nil || $0.key.namespace == namespace)
                }
            } else {
                replay = state.objects.filter { key, _ in
                    key.resource == resource && (namespace == nil || key.namespace == namespace)
                }
                .sorted { $0.key < $1.key }
                .map { key, object in
                    StoredChange(
                        revision: object.value(atPath: "metadata.resourceVersion")?.stringValue.flatMap { Int64($0) }
                            ?? state.revision,
                        kind: .added,
                        key: key,
                        object: object,
                        previous: nil
                    )
                }
            }
            let (messages, continuation) = AsyncStream<WatchMessage>.makeStream()
            let id = state.watch.nextID
            state.watch.nextID += 1
            state.watch.subscribers[id] = WatchLog.Subscriber(
                resource: resource,
                namespace: namespace,
                continuation: continuation
            )
            return .started(id: id, replay: replay, messages: messages)
        }
    }

    /// Closes one watch (its time is up, or the client went away).
    func endWatch(_ id: Int) {
        let subscriber = state.withLock { $0.watch.subscribers.removeValue(forKey: id) }
        subscriber?.continuation.finish()
    }

    /// Closes every open watch; with `refusingNew`, no watch opens afterwards (the server shuts down).
    func endWatches(refusingNew: Bool = false) {
        let subscribers = state.withLock { state in
            if refusingNew { state.watch.closed = true }
            defer { state.watch.subscribers = [:] }
            return Array(state.watch.subscribers.values)
        }
        for subscriber in subscribers { subscriber.continuation.finish() }
    }

    /// Sends every open watch a bookmark at the current revision.
    func sendBookmarks() {
        state.withLock { state in
            for subscriber in state.watch.subscribers.values {
                subscriber.continuation.yield(.bookmark(state.revision))
            }
        }
    }

    /// Forgets the whole change history, as an etcd compaction does: a watch resuming from any earlier revision is
    /// answered `410 Gone`.
    func compactWatchHistory() {
        state.withLock { state in
            let revision = state.revision
            state.watch.compact(through: revision)
        }
    }

    /// How many watches are open (for tests and the footprint benchmark).
    var openWatches: Int { state.withLock { $0.watch.subscribers.count } }
}
