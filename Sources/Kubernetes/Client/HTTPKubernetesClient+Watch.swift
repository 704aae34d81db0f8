import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import NIOCore
import NIOHTTP1

extension HTTPKubernetesClient: KubernetesWatching {
    /// Pages of this many objects, so one list never holds more than one page of raw bytes.
    static let listPageSize = 500
    /// A watch event line longer than this ends the watch (the API server limits objects to about 1.5 MiB).
    static let watchLineLimit = 16 << 20

    public func list<Object: KubernetesObject>(
        _ scope: WatchScope,
        as type: Object.Type
    ) async throws -> ListedObjects<Object> {
        let request = KubernetesError.Request(verb: "list", resource: scope.resource, namespace: scope.namespace)
        var items: [Object] = []
        var resourceVersion: String?
        var token: String?
        repeat {
            var query = ["limit=\(Self.listPageSize)"]
            if let selector = scope.labelSelector, !selector.isEmpty {
                query.append("labelSelector=\(selector.addingPercentEncodingForPath())")
            }
            if let token { query.append("continue=\(token.addingPercentEncodingForPath())") }
            let path = scope.resource.path(namespace: scope.namespace) + "?" + query.joined(separator: "&")
            let page: WatchListPage<Object> = try decode(
                try await send(.GET, path: path, request: request),
                request: request
            )
            items += page.items ?? []
            // Every page of one list is the same snapshot; the first names its version.
            if resourceVersion == nil { resourceVersion = page.metadata?.resourceVersion }
            token = page.metadata?.continue.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return ListedObjects(items: items, resourceVersion: resourceVersion)
    }

    public func watch<Object: KubernetesObject>(
        _ scope: WatchScope,
        as type: Object.Type,
        from resourceVersion: String,
        timeout: Duration,
        onEvent: @Sendable (WatchEvent<Object>) async throws -> Void
    ) async throws {
        let request = KubernetesError.Request(verb: "watch", resource: scope.resource, namespace: scope.namespace)
        let seconds = Int(min(max(timeout.seconds, 1), 3600).rounded())
        var query = [
            "watch=1", "allowWatchBookmarks=true", "timeoutSeconds=\(seconds)",
            "resourceVersion=\(resourceVersion.addingPercentEncodingForPath())",
        ]
        if let selector = scope.labelSelector, !selector.isEmpty {
            query.append("labelSelector=\(selector.addingPercentEncodingForPath())")
        }
        let path = scope.resource.path(namespace: scope.namespace) + "?" + query.joined(separator: "&")
        let http = try await makeRequest(.GET, path: path, body: nil, request: request)
        let response: HTTPClientResponse
        do {
            // The server ends the stream after `timeoutSeconds`; the client's deadline only bounds a server that does not.
            response = try await watchHTTPClient.execute(http, timeout: .seconds(Int64(seconds) + 30), logger: nil)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .cancelled {
            throw CancellationError()
        } catch {
            throw transportFailure(error, request: request)
        }
        guard response.status == .ok else {
            let body = (try? await response.body.collect(upTo: 64 << 10)).map { Data($0.readableBytesView) } ?? Data()
            throw failure(response, body: body, request: request)
        }
        var lines = WatchLineBuffer(limit: Self.watchLineLimit)
        do {
            for try await chunk in response.body {
                lines.append(chunk)
                while let line = try lines.nextLine() {
                    if let event = try Self.decodeWatchEvent(line, as: Object.self, request: request) {
                        try await onEvent(event)
                    }
                }
            }
        } catch let error as KubernetesError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as WatchLineBuffer.TooLong {
            throw KubernetesError(
                code: .other,
                request: request,
                detail: "a watch event is longer than \(error.limit) bytes"
            )
        } catch {
            // The server or a proxy closed the stream mid-way: resume from the last resourceVersion seen.
            throw KubernetesError(code: .unavailable, request: request, detail: "the watch stream broke: \(error)")
        }
    }

    /// One line of a watch stream: an event, `nil` for a blank line; throws the `ERROR` event's status.
    static func decodeWatchEvent<Object: KubernetesObject>(
        _ line: Data,
        as type: Object.Type,
        request: KubernetesError.Request
    ) throws -> WatchEvent<Object>? {
        typealias Body = WatchEventBody<Object>
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { return nil }
        let header: WatchEventHeader = try decode(line, request: request)
        switch header.type {
        case "ADDED": return .added(try (decode(line, request: request) as Body).object)
        case "MODIFIED": return .modified(try (decode(line, request: request) as Body).object)
        case "DELETED": return .deleted(try (decode(line, request: request) as Body).object)
        case "BOOKMARK":
            guard let version = header.object?.metadata?.resourceVersion else { return nil }
            return .bookmark(resourceVersion: version)
        case "ERROR":
            let code = header.object?.code ?? 500
            throw KubernetesError(
                code: KubernetesError.classify(statusCode: code, status: nil),
                request: request,
                statusCode: code,
                detail: header.object?.message ?? "the watch ended with an error"
            )
        default:
            throw KubernetesError(code: .other, request: request, detail: "unknown watch event type \(header.type)")
        }
    }

    /// Decodes without a request-bound instance method (static, for the event decoder).
    private static func decode<T: Decodable>(_ data: Data, request: KubernetesError.Request) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw KubernetesError(
                code: .other,
                request: request,
                detail: "a watch event could not be decoded as \(T.self): \(error)"
            )
        }
    }
}

/// One page of a list, with the version to watch from.
struct WatchListPage<Object: Decodable>: Decodable {
    var metadata: ListMeta?
    var items: [Object]?
}

/// What every watch event line has: its type, and the version (bookmarks) or the status (`ERROR`).
struct WatchEventHeader: Decodable {
    struct Inner: Decodable {
        struct Metadata: Decodable { var resourceVersion: String? }
        var metadata: Metadata?
        var code: Int?
        var reason: String?
        var message: String?
    }

    var type: String
    var object: Inner?
}

/// The object of an `ADDED`, `MODIFIED` or `DELETED` event.
struct WatchEventBody<Object: Decodable>: Decodable {
    var object: Object
}

/// Splits a byte stream into lines, holding at most one unfinished line of bounded length.
struct WatchLineBuffer {
    struct TooLong: Error { var limit: Int }

    let limit: Int
    private var pending: [UInt8] = []
    private var start = 0

    init(limit: Int) { self.limit = limit }

    mutating func append(_ buffer: ByteBuffer) {
        if start > 0 {
            pending.removeFirst(start)
            start = 0
        }
        pending.append(contentsOf: buffer.readableBytesView)
    }

    /// The next complete line (without its newline), or `nil` until more bytes arrive.
    mutating func nextLine() throws -> Data? {
        guard let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) else {
            if pending.count - start > limit { throw TooLong(limit: limit) }
            return nil
        }
        let line = Data(pending[start..<newline])
        start = newline + 1
        return line
    }
}
