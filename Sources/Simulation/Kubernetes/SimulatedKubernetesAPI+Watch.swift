import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension SimulatedKubernetesAPI {
    /// `GET …?watch=1`: a stream of newline-delimited `{"type": …, "object": …}` events, as the API server writes it.
    ///
    /// - `resourceVersion`: the changes after it (`ERROR` 410 `Expired` when it is older than the history; see
    ///   ``compactWatchHistory()``); without it, the current objects first as `ADDED`.
    /// - `labelSelector`: only matching objects; one that stops matching is sent as `DELETED`.
    /// - `allowWatchBookmarks=true`: `BOOKMARK` events at the current revision every `watchBookmarkInterval`, and on
    ///   ``sendWatchBookmarks()``.
    /// - `timeoutSeconds`: the stream ends after that long (default 30 minutes); also on ``endWatches()`` and on
    ///   shutdown.
    func watch(_ type: ResourceType, namespace: String?, query: [String: String]) throws(KubernetesAPIError) -> Response
    {
        let selector: LabelSelector
        do {
            selector = try LabelSelector(parsing: query["labelSelector"] ?? "")
        } catch {
            throw KubernetesAPIError.badRequest(error.message)
        }
        var from: Int64?
        if let text = query["resourceVersion"], !text.isEmpty {
            guard let revision = Int64(text), revision >= 0 else {
                throw KubernetesAPIError.badRequest("invalid resource version: \(text)")
            }
            from = revision
        }
        let timeout = query["timeoutSeconds"].flatMap { Int($0) }.map { min(max($0, 1), 3600) } ?? 1800
        let bookmarks = query["allowWatchBookmarks"] == "true" || query["allowWatchBookmarks"] == "1"
        let interval = configuration.watchBookmarkInterval
        var headers = HTTPFields()
        headers[.contentType] = "application/json"

        switch store.watch(type, namespace: namespace, from: from) {
        case .refused:
            throw KubernetesAPIError(
                code: 503,
                reason: "ServiceUnavailable",
                message: "the apiserver is shutting down, please try again later"
            )
        case .gone(let requested, let oldest):
            let status = KubernetesAPIError(
                code: 410,
                reason: "Expired",
                message: "too old resource version: \(requested) (\(oldest))"
            )
            let line = Self.eventLine(type: "ERROR", object: status.body)
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: line))
        case .started(let id, let replay, let messages):
            let store = store
            return Response(
                status: .ok,
                headers: headers,
                body: ResponseBody { writer in
                    do {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                try? await Task.sleep(for: .seconds(timeout))
                                store.endWatch(id)
                            }
                            if bookmarks, let interval {
                                group.addTask {
                                    while !Task.isCancelled {
                                        try? await Task.sleep(for: interval)
                                        if !Task.isCancelled { store.sendBookmarks() }
                                    }
                                }
                            }
                            for change in replay {
                                if let line = Self.line(for: change, selector: selector) {
                                    try await writer.write(line)
                                }
                            }
                            for await message in messages {
                                switch message {
                                case .change(let change):
                                    if let line = Self.line(for: change, selector: selector) {
                                        try await writer.write(line)
                                    }
                                case .bookmark(let revision):
                                    guard bookmarks else { continue }
                                    let object: KubernetesJSON = [
                                        "kind": .string(type.kind), "apiVersion": .string(type.apiVersion),
                                        "metadata": ["resourceVersion": .string(String(revision))],
                                    ]
                                    try await writer.write(Self.eventLine(type: "BOOKMARK", object: object))
                                }
                            }
                            group.cancelAll()
                        }
                    } catch {
                        store.endWatch(id)  // the client went away
                        throw error
                    }
                    store.endWatch(id)
                    try await writer.finish(nil)
                }
            )
        }
    }

    /// The event line for one change as a watch with `selector` sees it, or `nil` when it does not concern the watch.
    static func line(for change: StoredChange, selector: LabelSelector) -> ByteBuffer? {
        func matches(_ object: KubernetesJSON?) -> Bool {
            guard let object else { return false }
            let labels = (object.value(atPath: "metadata.labels")?.objectValue ?? [:]).compactMapValues(\.stringValue)
            return selector.matches(labels)
        }
        switch change.kind {
        case .deleted:
            return matches(change.previous ?? change.object) ? eventLine(type: "DELETED", object: change.object) : nil
        case .added, .modified:
            if matches(change.object) {
                let wasVisible = change.kind == .modified && matches(change.previous)
                return eventLine(type: wasVisible ? "MODIFIED" : "ADDED", object: change.object)
            }
            return matches(change.previous) ? eventLine(type: "DELETED", object: change.object) : nil
        }
    }

    static func eventLine(type: String, object: KubernetesJSON) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("{\"type\":\"\(type)\",\"object\":")
        buffer.writeBytes(object.data())
        buffer.writeString("}\n")
        return buffer
    }

    // MARK: Controls

    /// Closes every open watch (as when the API server restarts or a load balancer cuts long requests); clients
    /// resume from their last resourceVersion.
    public func endWatches() {
        store.endWatches()
    }

    /// Forgets the change history (an etcd compaction): resuming any open client's watch is answered 410 Gone, so
    /// it must list again.
    public func compactWatchHistory() {
        store.compactWatchHistory()
    }

    /// Sends a `BOOKMARK` to every open watch that allows them.
    public func sendWatchBookmarks() {
        store.sendBookmarks()
    }

    /// The store's revision: the resourceVersion of the newest write.
    public var revision: Int64 { store.revision }

    /// How many watches are open now.
    public var openWatches: Int { store.openWatches }
}
