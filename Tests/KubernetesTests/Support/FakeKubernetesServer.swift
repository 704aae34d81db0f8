import AutorebalancerCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A small Kubernetes API server on loopback for HTTP-level tests: an in-memory object store with create / get /
/// list (label selector) / update (resourceVersion) / merge-patch / delete, discovery, bearer-token checking, RBAC
/// denials and scripted faults (status codes, delays, dropped connections, "applied but the answer was lost").
final class FakeKubernetesServer: Sendable {
    enum FaultKind: Sendable {
        /// Answer with this status (the request is not applied).
        case status(Int, retryAfter: String? = nil)
        /// Apply the request, then answer with this status (the client cannot know it went through).
        case applyThenStatus(Int)
        /// Wait, then answer normally (use a delay longer than the client's timeout to lose the answer).
        case delay(Duration)
        /// Apply the request, then wait before answering.
        case applyThenDelay(Duration)
        /// Apply the request, then cut the connection in the middle of the answer.
        case applyThenDrop
        /// Answer with this status and body, as a server that is not a Kubernetes API server would.
        case raw(Int, contentType: String, body: String)
    }

    struct Fault: Sendable {
        var method: String
        var pathContains: String
        var kind: FaultKind
        var remaining: Int
    }

    struct State: Sendable {
        var objects: [String: Data] = [:]
        var resourceVersion = 100
        var faults: [Fault] = []
        var token: String?
        var forbidden: Set<String> = []
        var log: [String] = []
        var served: [String: [String]] = ["apps.emqx.io/v2beta1": ["emqxes", "rebalances"], "apps.emqx.io/v1beta4": ["emqxenterprises", "rebalances"]]
    }

    let state = Mutex(State())
    /// The server's clock for creationTimestamp (tests drive it by hand).
    let now: @Sendable () -> Date

    init(now: @escaping @Sendable () -> Date = { Date() }) { self.now = now }

    /// What `GET /api/v5/load_rebalance/global_status` reports (the EMQX side, for the status probe).
    let emqxRebalancing = Mutex<Bool>(false)

    // MARK: Test controls

    func inject(_ method: String, _ pathContains: String, _ kind: FaultKind, times: Int = 1) {
        state.withLock { $0.faults.append(Fault(method: method, pathContains: pathContains, kind: kind, remaining: times)) }
    }

    func requireToken(_ token: String?) { state.withLock { $0.token = token } }
    func forbid(_ verb: String, _ plural: String) { state.withLock { _ = $0.forbidden.insert("\(verb) \(plural)") } }
    func serve(_ groupVersion: String, _ resources: [String]?) { state.withLock { $0.served[groupVersion] = resources } }
    var log: [String] { state.withLock { $0.log } }
    func count(_ method: String, _ pathContains: String) -> Int {
        log.filter { $0.hasPrefix(method + " ") && $0.contains(pathContains) }.count
    }

    /// Puts an object at its path, as a controller would.
    func put<T: Encodable>(_ object: T, at path: String) {
        let data = try! JSONEncoder().encode(object)
        state.withLock { state in
            state.resourceVersion += 1
            var json = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
            var metadata = json["metadata"] as? [String: Any] ?? [:]
            metadata["resourceVersion"] = String(state.resourceVersion)
            if metadata["uid"] == nil { metadata["uid"] = UUID().uuidString.lowercased() }
            if metadata["creationTimestamp"] == nil { metadata["creationTimestamp"] = KubernetesTime.format(self.now()) }
            json["metadata"] = metadata
            state.objects[path] = try! JSONSerialization.data(withJSONObject: json)
        }
    }

    func get<T: Decodable>(_ type: T.Type, at path: String) -> T? {
        guard let data = state.withLock({ $0.objects[path] }) else { return nil }
        return try? JSONDecoder().decode(T.self, from: data)
    }

    /// Every object whose path starts with the collection path.
    func list<T: Decodable>(_ type: T.Type, in collection: String) -> [T] {
        let items = state.withLock { $0.objects.filter { $0.key.hasPrefix(collection + "/") }.map(\.value) }
        return items.compactMap { try? JSONDecoder().decode(T.self, from: $0) }
    }

    /// Changes an object in place (the operator writing status).
    func modify<T: Codable>(_ type: T.Type, at path: String, _ change: (inout T) -> Void) {
        guard var object = get(T.self, at: path) else { return }
        change(&object)
        put(object, at: path)
    }

    func remove(at path: String) { state.withLock { _ = $0.objects.removeValue(forKey: path) } }

    // MARK: Serving

    /// Runs the server on 127.0.0.1 (ephemeral port) for the duration of `body`, then stops it.
    func withRunning<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "fake-kubernetes")
        logger.logLevel = .critical
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in try await self.respond(request) },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger
        )
        // Shut down gracefully, never by cancelling: cancelling a NIO server can trap on a connection accepted but not
        // yet served (apple/swift-nio #3481). Delays end at shutdown, so a request that "never answers" cannot hold it up.
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            do {
                let result = try await body("http://127.0.0.1:\(port)")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                // Wait for the server to stop rather than leave it to be cancelled (see apple/swift-nio #3481).
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    private func response(_ code: Int, _ body: Data, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private func status(_ code: Int, reason: String, message: String) -> Response {
        let body = try! JSONEncoder().encode(KubernetesStatus(status: "Failure", message: message, reason: reason, code: code))
        return response(code, body)
    }

    private func respond(_ request: Request) async throws -> Response {
        var request = request
        let method = request.method.rawValue
        let path = request.uri.path
        let query = request.uri.queryParameters
        let body = try await request.collectBody(upTo: 1 << 20)
        let bodyData = Data(body.readableBytesView)
        let authorization = request.headers[.authorization]
        let (fault, expected, forbidden): (Fault?, String?, Set<String>) = state.withLock { state in
            state.log.append("\(method) \(path)")
            var found: Fault?
            if let index = state.faults.firstIndex(where: { $0.method == method && path.contains($0.pathContains) && $0.remaining > 0 }) {
                found = state.faults[index]
                state.faults[index].remaining -= 1
            }
            return (found, state.token, state.forbidden)
        }
        if let expected, authorization != "Bearer \(expected)" {
            return status(401, reason: "Unauthorized", message: "Unauthorized")
        }
        if path == "/api/v5/load_rebalance/global_status" {
            guard request.headers[.authorization] == "Basic " + Data("key:secret".utf8).base64EncodedString() else {
                return response(401, Data(#"{"code":"BAD_API_KEY_OR_SECRET"}"#.utf8))
            }
            let running = emqxRebalancing.withLock { $0 }
            let body = running
                ? #"{"evacuations":[],"rebalances":[{"node":"emqx@a","state":"evicting_conns","coordinator_node":"emqx@a"}]}"#
                : #"{"evacuations":[],"rebalances":[]}"#
            return response(200, Data(body.utf8))
        }
        let parts = path.split(separator: "/").map(String.init)
        // Discovery: /apis/<group>
        if parts.count == 2, parts[0] == "apis" {
            let versions = state.withLock { $0.served }.filter { $0.key.hasPrefix(parts[1] + "/") }.keys
                .map { String($0.dropFirst(parts[1].count + 1)) }.sorted()
            guard !versions.isEmpty else { return status(404, reason: "NotFound", message: "the server could not find the requested resource") }
            let group: [String: Any] = [
                "kind": "APIGroup", "name": parts[1],
                "versions": versions.map { ["groupVersion": "\(parts[1])/\($0)", "version": $0] },
            ]
            return response(200, try JSONSerialization.data(withJSONObject: group))
        }
        // Discovery: /apis/<group>/<version>
        if parts.count == 3, parts[0] == "apis" {
            let groupVersion = "\(parts[1])/\(parts[2])"
            guard let resources = state.withLock({ $0.served[groupVersion] }) else {
                return status(404, reason: "NotFound", message: "the server could not find the requested resource")
            }
            let list: [String: Any] = ["kind": "APIResourceList", "groupVersion": groupVersion, "resources": resources.map { ["name": $0, "namespaced": true] }]
            return response(200, try JSONSerialization.data(withJSONObject: list))
        }
        guard let nsIndex = parts.firstIndex(of: "namespaces"), nsIndex + 2 < parts.count + 1, parts.count > nsIndex + 2 else {
            return status(404, reason: "NotFound", message: "unknown path \(path)")
        }
        let plural = parts[nsIndex + 2]
        let name = parts.count > nsIndex + 3 ? parts[nsIndex + 3] : nil
        let collection = "/" + parts[0...(nsIndex + 2)].joined(separator: "/")
        let verb: String = switch (method, name) {
        case ("GET", nil): "list"
        case ("GET", _): "get"
        case ("POST", _): "create"
        case ("PUT", _): "update"
        case ("PATCH", _): "patch"
        case ("DELETE", _): "delete"
        default: method.lowercased()
        }
        if forbidden.contains("\(verb) \(plural)") {
            let group = parts[0] == "api" ? "" : parts[1]
            return status(
                403, reason: "Forbidden",
                message: "\(plural)\(group.isEmpty ? "" : ".\(group)") is forbidden: User \"system:serviceaccount:default:agent\" cannot \(verb) resource \"\(plural)\" in API group \"\(group)\" in the namespace \"\(parts[nsIndex + 1])\""
            )
        }
        if let fault {
            switch fault.kind {
            case .status(let code, let retryAfter):
                var headers: HTTPFields = [:]
                if let retryAfter { headers[.retryAfter] = retryAfter }
                let body = try! JSONEncoder().encode(KubernetesStatus(status: "Failure", message: "injected \(code)", reason: "InternalError", code: code))
                return response(code, body, headers: headers)
            case .delay(let duration):
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
            case .applyThenStatus(let code):
                _ = apply(verb: verb, collection: collection, name: name, body: bodyData, query: query.map { (String($0.key), String($0.value)) })
                return status(code, reason: "InternalError", message: "injected \(code) after applying")
            case .applyThenDelay(let duration):
                let answer = apply(verb: verb, collection: collection, name: name, body: bodyData, query: query.map { (String($0.key), String($0.value)) })
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
                return answer
            case .raw(let code, let contentType, let text):
                var headers: HTTPFields = [:]
                headers[.contentType] = contentType
                return response(code, Data(text.utf8), headers: headers)
            case .applyThenDrop:
                _ = apply(verb: verb, collection: collection, name: name, body: bodyData, query: query.map { (String($0.key), String($0.value)) })
                var headers: HTTPFields = [:]
                headers[.contentLength] = "1000"
                return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "{\"partial\":"))
                    throw CancellationError()
                })
            }
        }
        return apply(verb: verb, collection: collection, name: name, body: bodyData, query: query.map { (String($0.key), String($0.value)) })
    }

    private func apply(verb: String, collection: String, name: String?, body: Data, query: [(String, String)]) -> Response {
        switch verb {
        case "list":
            let selector = query.first { $0.0 == "labelSelector" }?.1.removingPercentEncoding
            let requirements = (selector ?? "").split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
            let items: [Any] = state.withLock { state in
                state.objects.filter { $0.key.hasPrefix(collection + "/") }.sorted { $0.key < $1.key }.compactMap { entry in
                    guard let json = try? JSONSerialization.jsonObject(with: entry.value) as? [String: Any] else { return nil }
                    let labels = (json["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
                    for requirement in requirements where requirement.count == 2 {
                        if labels[requirement[0]] != requirement[1] { return nil }
                    }
                    return json
                }
            }
            let list: [String: Any] = ["kind": "List", "apiVersion": "v1", "metadata": ["resourceVersion": "1"], "items": items]
            return response(200, try! JSONSerialization.data(withJSONObject: list))
        case "get":
            guard let data = state.withLock({ $0.objects[collection + "/" + (name ?? "")] }) else {
                return status(404, reason: "NotFound", message: "\(collection.split(separator: "/").last ?? "") \"\(name ?? "")\" not found")
            }
            return response(200, data)
        case "create":
            guard var json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                var metadata = json["metadata"] as? [String: Any], let objectName = metadata["name"] as? String
            else { return status(422, reason: "Invalid", message: "metadata.name: Required value") }
            return state.withLock { state in
                let key = collection + "/" + objectName
                if state.objects[key] != nil {
                    return status(409, reason: "AlreadyExists", message: "\(collection.split(separator: "/").last ?? "") \"\(objectName)\" already exists")
                }
                state.resourceVersion += 1
                metadata["resourceVersion"] = String(state.resourceVersion)
                metadata["uid"] = UUID().uuidString.lowercased()
                metadata["creationTimestamp"] = KubernetesTime.format(self.now())
                json["metadata"] = metadata
                let data = try! JSONSerialization.data(withJSONObject: json)
                state.objects[key] = data
                return response(201, data)
            }
        case "update":
            guard var json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                var metadata = json["metadata"] as? [String: Any]
            else { return status(422, reason: "Invalid", message: "bad body") }
            return state.withLock { state in
                let key = collection + "/" + (name ?? "")
                guard let existing = state.objects[key],
                    let old = try? JSONSerialization.jsonObject(with: existing) as? [String: Any],
                    let oldMeta = old["metadata"] as? [String: Any]
                else { return status(404, reason: "NotFound", message: "\(name ?? "") not found") }
                if let version = metadata["resourceVersion"] as? String, version != oldMeta["resourceVersion"] as? String {
                    return status(409, reason: "Conflict", message: "Operation cannot be fulfilled on \(name ?? ""): the object has been modified; please apply your changes to the latest version and try again")
                }
                state.resourceVersion += 1
                metadata["resourceVersion"] = String(state.resourceVersion)
                metadata["uid"] = oldMeta["uid"]
                metadata["creationTimestamp"] = oldMeta["creationTimestamp"]
                json["metadata"] = metadata
                let data = try! JSONSerialization.data(withJSONObject: json)
                state.objects[key] = data
                return response(200, data)
            }
        case "patch":
            guard let patch = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                return status(422, reason: "Invalid", message: "bad patch")
            }
            return state.withLock { state in
                let key = collection + "/" + (name ?? "")
                guard let existing = state.objects[key], let old = try? JSONSerialization.jsonObject(with: existing) as? [String: Any] else {
                    return status(404, reason: "NotFound", message: "\(name ?? "") not found")
                }
                var merged = Self.merge(old, patch)
                var metadata = merged["metadata"] as? [String: Any] ?? [:]
                state.resourceVersion += 1
                metadata["resourceVersion"] = String(state.resourceVersion)
                merged["metadata"] = metadata
                let data = try! JSONSerialization.data(withJSONObject: merged)
                state.objects[key] = data
                return response(200, data)
            }
        case "delete":
            let removed = state.withLock { $0.objects.removeValue(forKey: collection + "/" + (name ?? "")) }
            guard removed != nil else { return status(404, reason: "NotFound", message: "\(name ?? "") not found") }
            return response(200, try! JSONEncoder().encode(KubernetesStatus(status: "Success", message: nil, reason: nil, code: 200)))
        default:
            return status(405, reason: "MethodNotAllowed", message: verb)
        }
    }

    /// RFC 7386 JSON merge patch.
    static func merge(_ target: [String: Any], _ patch: [String: Any]) -> [String: Any] {
        var result = target
        for (key, value) in patch {
            if value is NSNull {
                result.removeValue(forKey: key)
            } else if let object = value as? [String: Any] {
                result[key] = merge(result[key] as? [String: Any] ?? [:], object)
            } else {
                result[key] = value
            }
        }
        return result
    }
}
