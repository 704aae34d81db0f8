import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Simulation
import Synchronization

/// A small scripted EMQX cluster for the operator tests: one loopback server, each node under its own path prefix
/// (`http://127.0.0.1:PORT/n0`), serving `/api/v{4,5}/nodes`, `load_rebalance/<node>/start|stop`, `global_status`
/// and `availability_check` with EMQX's answer shapes.
final class ScriptedEMQX: Sendable {
    struct Node: Sendable {
        var name: String
        var role: String = "core"
        var edition: String = "Enterprise"
        var connections: Int = 0
        var liveConnections: Int = 0
        var uptime: Int = 1000
        var status: String = "running"
    }

    struct State: Sendable {
        var nodes: [Node]
        var running: [String] = []  // coordinator nodes of running rebalances
        var donors: [String] = []
        var starts: [KubernetesJSON] = []
        var startAuth: [String] = []
        var stops: [String] = []
        var globalStatusCalls = 0
        /// When set, the next start is answered with this (status, body).
        var startAnswer: (Int, String)?
    }

    let state: Mutex<State>
    let username = "emqx-operator-controller"
    let password = "secret"
    let v4: Bool

    init(nodes: [Node], v4: Bool = false) {
        self.state = Mutex(State(nodes: nodes))
        self.v4 = v4
    }

    func endpoints(port: Int) -> [EMQXBinding.NodeEndpoint] {
        state.withLock { $0.nodes }.enumerated().map { index, node in
            EMQXBinding.NodeEndpoint(node: node.name, baseURL: URL(string: "http://127.0.0.1:\(port)/n\(index)")!)
        }
    }

    func finishRebalance() {
        state.withLock {
            $0.running = []
            $0.donors = []
        }
    }

    private func answer(_ code: Int, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func respond(_ request: Request) async throws -> Response {
        let parts = request.uri.path.split(separator: "/").map(String.init)
        guard parts.count >= 3, let index = Int(parts[0].dropFirst()) else { return answer(404, "{}") }
        let apiPath = parts.dropFirst().joined(separator: "/")
        let node = state.withLock { $0.nodes.indices.contains(index) ? $0.nodes[index] : nil }
        guard let node else { return answer(404, "{}") }
        if apiPath.hasSuffix("load_rebalance/availability_check") {
            let donor = state.withLock { $0.donors.contains(node.name) }
            return donor ? answer(503, #"{"code":"NODE_EVACUATING","message":"Node Evacuating"}"#) : answer(200, "{}")
        }
        let expected = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        guard request.headers[.authorization] == expected else {
            return answer(401, #"{"code":"BAD_USERNAME_OR_PWD","message":"Auth failed"}"#)
        }
        if apiPath == "api/v5/nodes" || apiPath == "api/v4/nodes" {
            let nodes = state.withLock { $0.nodes }
            let list = nodes.map { node -> String in
                "{\"node\":\"\(node.name)\",\"node_status\":\"\(node.status)\",\"otp_release\":\"26.2.5-3\",\"version\":\"5.8.6\",\"role\":\"\(node.role)\",\"edition\":\"\(node.edition)\",\"uptime\":\(node.uptime),\"connections\":\(node.connections),\"live_connections\":\(node.liveConnections)}"
            }.joined(separator: ",")
            return apiPath.hasPrefix("api/v4")
                ? answer(200, "{\"code\":0,\"data\":[\(list)]}") : answer(200, "[\(list)]")
        }
        if apiPath.hasSuffix("load_rebalance/global_status") {
            let (running, donors, nodes) = state.withLock { state in
                state.globalStatusCalls += 1
                return (state.running, state.donors, state.nodes.map(\.name))
            }
            let entries = running.map { coordinator in
                let recipients = nodes.filter { !donors.contains($0) }
                return
                    "{\"node\":\"\(coordinator)\",\"coordinator_node\":\"\(coordinator)\",\"state\":\"evicting_conns\",\"donors\":[\(donors.map { "\"\($0)\"" }.joined(separator: ","))],\"recipients\":[\(recipients.map { "\"\($0)\"" }.joined(separator: ","))],\"connection_eviction_rate\":10,\"session_eviction_rate\":10,\"connection_goal\":2574.0,\"donor_conn_avg\":3333.3}"
            }
            return answer(200, "{\"evacuations\":[],\"purges\":[],\"rebalances\":[\(entries.joined(separator: ","))]}")
        }
        if parts.count >= 5, parts[parts.count - 3] == "load_rebalance", request.method == .post {
            let target = parts[parts.count - 2].removingPercentEncoding ?? parts[parts.count - 2]
            let action = parts[parts.count - 1]
            if action == "stop" {
                let wasRunning = state.withLock { state -> Bool in
                    state.stops.append(target)
                    defer {
                        state.running.removeAll { $0 == target }
                        if state.running.isEmpty { state.donors = [] }
                    }
                    return state.running.contains(target)
                }
                return wasRunning ? answer(200, "{}") : answer(400, #"{"code":"BAD_REQUEST","message":"not_started"}"#)
            }
            let body = try KubernetesJSON.parse(Data(buffer: try await request.body.collect(upTo: 1 << 20)))
            let result: (Int, String) = state.withLock { state in
                state.starts.append(body)
                if let scripted = state.startAnswer {
                    state.startAnswer = nil
                    return scripted
                }
                let bad: (Int, String) =
                    v4 ? (200, #"{"code":400,"message":"%@"}"#) : (400, #"{"code":"BAD_REQUEST","message":"%@"}"#)
                if state.running.contains(target) {
                    return (bad.0, bad.1.replacingOccurrences(of: "%@", with: "already_started"))
                }
                for key in ["rel_conn_threshold", "rel_sess_threshold"] {
                    let value: Double? =
                        switch body[key] {
                        case .number(let number)?: number
                        case .integer(let number)?: Double(number)
                        default: nil
                        }
                    if let value, value <= 1.0 {
                        return (bad.0, bad.1.replacingOccurrences(of: "%@", with: "\(key) must be greater than 1.0"))
                    }
                }
                let nodes = (body["nodes"]?.arrayValue ?? []).compactMap(\.stringValue)
                let counts = state.nodes.filter { nodes.contains($0.name) }
                let average = Double(counts.map(\.liveConnections).reduce(0, +)) / Double(max(counts.count, 1))
                state.donors = counts.filter { Double($0.liveConnections) >= average }.map(\.name)
                state.running.append(target)
                return v4 ? (200, #"{"code":0}"#) : (200, "{}")
            }
            return answer(result.0, result.1)
        }
        return answer(404, #"{"code":"NOT_FOUND","message":"Not Found"}"#)
    }

    /// Runs the responder for the duration of `body`.
    func withRunning<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        let ports = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in try await self.respond(request) },
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in ports.continuation.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "scripted-emqx")
        )
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "scripted-emqx"))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.stream.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            do {
                let result = try await body(port)
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
}

/// A client that talks to the simulated API over real HTTP.
struct SimulatedAPIClient: Sendable {
    var baseURL: URL
    var token: String? = SimulatedKubernetesAPI.defaultToken

    struct Answer: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: KubernetesJSON

        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    func send(
        _ method: String,
        _ path: String,
        _ body: KubernetesJSON? = nil,
        contentType: String = "application/json"
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL.absoluteString + path)
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body.data()))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let data = Data(buffer: try await response.body.collect(upTo: 16 << 20))
        return Answer(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) },
            body: data.isEmpty ? .null : try KubernetesJSON.parse(data)
        )
    }
}

/// A server for one test, stopped at the end.
func withSimulatedAPI<T: Sendable>(
    _ configuration: SimulatedKubernetesAPI.Configuration = .init(),
    _ body: @Sendable (SimulatedKubernetesAPI, SimulatedAPIClient) async throws -> T
) async throws -> T {
    let api = SimulatedKubernetesAPI(configuration: configuration, logger: Logger(label: "test-api"))
    return try await api.withRunning { api in
        try await body(api, SimulatedAPIClient(baseURL: try await api.baseURL()))
    }
}

func rebalanceBody(
    _ name: String,
    instance: String = "emqx-ee",
    kind: String? = "EMQX",
    strategy: KubernetesJSON = ["connEvictRate": 10],
    labels: [String: String] = [:]
) -> KubernetesJSON {
    var spec: KubernetesJSON = ["instanceName": .string(instance), "rebalanceStrategy": strategy]
    if let kind { spec["instanceKind"] = .string(kind) }
    return [
        "apiVersion": "apps.emqx.io/v2beta1", "kind": "Rebalance",
        "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
        "spec": spec,
    ]
}
