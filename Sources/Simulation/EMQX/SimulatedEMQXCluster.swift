import AutorebalancerCore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A simulated EMQX cluster served over HTTP on loopback: one server per node on its own 127.0.0.1 port, answering
/// EMQX's management API and Prometheus endpoints exactly as a real node does, backed by an `EMQXClusterModel`.
///
/// Time moves only through `advance(by:)`/`advance(to:)` (tests step it by hand) or through an
/// `EMQXClusterDriver` running on a clock (the demo). Run the servers either as a `Service` (`run()`, in a
/// `ServiceGroup`) or with `start()`/`stop()`.
public final class SimulatedEMQXCluster: Service, Sendable {
    /// Errors of the HTTP side.
    public enum ServerError: Error, Sendable, CustomStringConvertible {
        case notListening(nodes: [String], after: Duration)
        case alreadyRunning

        public var description: String {
            switch self {
            case .notListening(let nodes, let after):
                "simulated EMQX nodes \(nodes.joined(separator: ", ")) were not listening after \(after)"
            case .alreadyRunning: "the simulated EMQX cluster's servers are already running; call stop() first"
            }
        }
    }

    final class ServerHandle: Sendable {
        let stopRequested = OneShotSignal()
    }

    struct State {
        var model: EMQXClusterModel
        var faults: [String: NodeFaults] = [:]
        var servers: [String: ServerHandle] = [:]
        /// Node → bound port; kept across server restarts so a node's URL never changes.
        var ports: [String: Int] = [:]
        /// Nodes whose server is accepting connections now.
        var listening: Set<String> = []
        /// Servers asked to stop that have not closed yet.
        var closing: Int = 0
        var changes: AsyncStream<Void>.Continuation?
        var runTask: Task<Void, any Error>?
    }

    private let state: Mutex<State>
    private let logger: Logger
    /// HummingbirdCore's own messages (connection errors of clients hanging up) are noise for a simulation.
    private let serverLogger: Logger

    /// - Parameters:
    ///   - configuration: the cluster to simulate.
    ///   - logger: used for server lifecycle messages; defaults to warnings only.
    public init(configuration: SimulatedEMQXConfiguration, logger: Logger? = nil) {
        self.state = Mutex(State(model: EMQXClusterModel(configuration: configuration)))
        self.logger =
            logger
            ?? {
                var logger = Logger(label: "simulated-emqx")
                logger.logLevel = .warning
                return logger
            }()
        var serverLogger = self.logger
        serverLogger.logLevel = .critical
        self.serverLogger = serverLogger
    }

    /// The product's seed scenario (`SimulatedEMQXConfiguration.seedScenario`): EmqxEnterprise `emqx-ee`, four core
    /// nodes with 3333, 3333, 3334 and 0 live connections.
    public static func seedScenario(
        seed: UInt64 = 1,
        loadBalancer: LoadBalancerPolicy = .roundRobin,
        logger: Logger? = nil
    ) -> SimulatedEMQXCluster {
        SimulatedEMQXCluster(configuration: .seedScenario(seed: seed, loadBalancer: loadBalancer), logger: logger)
    }

    // MARK: State

    public var configuration: SimulatedEMQXConfiguration { state.withLock { $0.model.configuration } }

    /// A copy of the whole cluster state.
    public var model: EMQXClusterModel { state.withLock { $0.model } }

    /// The nodes now, in node order.
    public var nodes: [SimulatedEMQXNode] { state.withLock { $0.model.nodes } }

    /// Simulated time since the origin.
    public var now: Duration { state.withLock { $0.model.now } }

    /// The nodes as the agent's core model describes them (what a perfect metric source would report).
    public var observations: [NodeObservation] {
        state.withLock { state in
            state.model.nodes.map { node in
                NodeObservation(
                    name: node.name,
                    role: node.role,
                    running: node.isRunning,
                    liveConnections: node.isRunning ? Double(node.liveConnections) : nil,
                    connections: node.isRunning ? Double(node.connections) : nil,
                    sessions: node.isRunning ? Double(node.sessions) : nil,
                    uptimeSeconds: node.uptime(at: state.model.now).map { $0.seconds },
                    restartCounter: node.isRunning ? Double(node.counters.clientConnected) : nil
                )
            }
        }
    }

    /// Runs `body` on the model under the lock (for callers that need several reads or changes at once).
    public func withModel<T: Sendable, E: Error>(_ body: (inout EMQXClusterModel) throws(E) -> T) throws(E) -> T {
        let (result, changed) = try state.withLock { state throws(E) -> (T, Bool) in
            let before = Self.serverSet(state)
            let result = try body(&state.model)
            return (result, Self.serverSet(state) != before)
        }
        if changed { notifyChange() }
        return result
    }

    /// Applies a scenario event now.
    public func apply(_ event: EMQXScenarioEvent) throws(EMQXScenarioError) {
        let changed = try state.withLock { state throws(EMQXScenarioError) -> Bool in
            let before = Self.serverSet(state)
            try state.model.apply(event)
            return Self.serverSet(state) != before
        }
        if changed { notifyChange() }
    }

    /// Steps simulated time forward by `duration` (one tick per whole second).
    public func advance(by duration: Duration) {
        withModel { $0.advance(by: duration) }
    }

    /// Steps simulated time forward to `instant`.
    public func advance(to instant: Duration) {
        withModel { $0.advance(to: instant) }
    }

    /// Sets the Kubernetes view of a node's readiness (`nil`: the load balancer follows `availability_check`).
    public func setServiceReadiness(_ ready: Bool?, of node: String) throws(EMQXScenarioError) {
        try state.withLock { state throws(EMQXScenarioError) in try state.model.setServiceReadiness(ready, of: node) }
    }

    // MARK: Faults

    public func faults(of node: String) -> NodeFaults {
        state.withLock { $0.faults[node] ?? .none }
    }

    /// Switches a node's HTTP faults; refusing connections stops its server, clearing it starts it again on the
    /// same port.
    public func setFaults(_ faults: NodeFaults, of node: String) {
        let changed = state.withLock { state -> Bool in
            let before = Self.serverSet(state)
            state.faults[node] = faults == .none ? nil : faults
            return Self.serverSet(state) != before
        }
        if changed { notifyChange() }
    }

    // MARK: Endpoints

    /// Node name → base URL (`http://127.0.0.1:<port>`) of every node whose server has bound a port.
    public var endpoints: [String: URL] {
        state.withLock { state in
            var result: [String: URL] = [:]
            for (node, port) in state.ports where state.model.node(named: node) != nil {
                result[node] = URL(string: "http://127.0.0.1:\(port)")
            }
            return result
        }
    }

    /// The base URL of one node, if its server has bound a port.
    public func endpoint(of node: String) -> URL? {
        endpoints[node]
    }

    /// Nodes that should be serving HTTP: members that run and do not refuse connections.
    private static func serverSet(_ state: State) -> Set<String> {
        Set(
            state.model.nodes.filter { $0.isRunning && !(state.faults[$0.name]?.refuseConnections ?? false) }.map(
                \.name
            )
        )
    }

    // MARK: Running the servers

    /// Starts the servers in a task of their own and returns once every node that should serve is listening.
    /// For callers without a `ServiceGroup`; pair with `stop()`. The timeout only catches a broken environment:
    /// binding loopback ports is quick, but on a loaded machine (a CI runner, a test suite) it can take seconds.
    public func start(timeout: Duration = .seconds(60)) async throws {
        let task = try state.withLock { state throws(ServerError) -> Task<Void, any Error> in
            guard state.runTask == nil else { throw .alreadyRunning }
            let task = Task { try await self.run() }
            state.runTask = task
            return task
        }
        do {
            try await waitUntilServing(timeout: timeout)
        } catch {
            task.cancel()
            _ = try? await task.value
            state.withLock { $0.runTask = nil }
            throw error
        }
    }

    /// Stops every server started by `start()` (gracefully) and waits until they are closed.
    public func stop() async {
        let (task, changes) = state.withLock { state -> (Task<Void, any Error>?, AsyncStream<Void>.Continuation?) in
            defer { state.runTask = nil }
            return (state.runTask, state.changes)
        }
        if let changes {
            changes.finish()
        } else {
            task?.cancel()
        }
        _ = try? await task?.value
    }

    /// Waits until exactly the nodes that should serve are listening (after `start()`, an event or a fault change).
    public func waitUntilServing(timeout: Duration = .seconds(60)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let missing = state.withLock { state -> [String] in
                let desired = Self.serverSet(state)
                guard state.changes != nil else { return desired.sorted() }
                let pending = desired.symmetricDifference(state.listening).sorted()
                return pending.isEmpty && state.closing > 0 ? ["(servers still closing)"] : pending
            }
            if missing.isEmpty { return }
            guard clock.now < deadline else { throw ServerError.notListening(nodes: missing, after: timeout) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Serves every node until cancelled or gracefully shut down, starting and stopping node servers as nodes join,
    /// leave, stop, start, or have their connections refused.
    public func run() async throws {
        let (changes, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.withLock { $0.changes = continuation }
        defer {
            state.withLock { state in
                state.changes = nil
                state.listening = []
                state.servers = [:]
                state.closing = 0
            }
        }
        await withDiscardingTaskGroup { group in
            reconcile(&group)
            for await _ in changes.cancelOnGracefulShutdown() {
                reconcile(&group)
            }
            let handles = state.withLock { state -> [ServerHandle] in
                defer {
                    state.servers = [:]
                    state.listening = []
                    state.changes = nil
                }
                return Array(state.servers.values)
            }
            for handle in handles { handle.stopRequested.fire() }
        }
    }

    private func notifyChange() {
        _ = state.withLock { $0.changes }?.yield()
    }

    private func reconcile(_ group: inout DiscardingTaskGroup) {
        let (toStart, toStop) = state.withLock { state -> ([(String, ServerHandle, Int)], [ServerHandle]) in
            let desired = Self.serverSet(state)
            var toStop: [ServerHandle] = []
            for (node, handle) in state.servers where !desired.contains(node) {
                toStop.append(handle)
                state.closing += 1
                state.servers[node] = nil
                state.listening.remove(node)
            }
            var toStart: [(String, ServerHandle, Int)] = []
            for node in desired.sorted() where state.servers[node] == nil {
                let handle = ServerHandle()
                state.servers[node] = handle
                toStart.append((node, handle, state.ports[node] ?? 0))
            }
            return (toStart, toStop)
        }
        for handle in toStop { handle.stopRequested.fire() }
        for (node, handle, port) in toStart {
            group.addTask { await self.serve(node, handle: handle, port: port) }
        }
    }

    private func serve(_ node: String, handle: ServerHandle, port: Int) async {
        let application = Application(
            responder: CallbackResponder<SimulatedAPIRequestContext> { request, context in
                try await self.respond(to: request, node: node, context: context)
            },
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port
                self.state.withLock { state in
                    if let bound { state.ports[node] = bound }
                    if state.servers[node] === handle { state.listening.insert(node) }
                }
            },
            logger: serverLogger
        )
        // Stopping drops the server at once, as a node that dies or is cut off: the listener and idle connections
        // close, and requests held by a fault end unanswered (see `respond`). It is a graceful shutdown, not a
        // cancellation, because cancelling a NIO server can trap on a connection accepted but not yet served
        // (apple/swift-nio #3481).
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [application], logger: serverLogger)
        )
        enum Ended { case served, stopRequested }
        do {
            try await withThrowingTaskGroup(of: Ended.self) { tasks in
                tasks.addTask {
                    try await group.run()
                    return .served
                }
                tasks.addTask {
                    await handle.stopRequested.wait()
                    return .stopRequested
                }
                if try await tasks.next() == .stopRequested {
                    await group.triggerGracefulShutdown()
                    _ = try await tasks.next()
                } else {
                    tasks.cancelAll()
                }
            }
        } catch is CancellationError {
        } catch {
            logger.error("simulated EMQX node \(node) stopped serving: \(error)")
        }
        state.withLock { state in
            if state.servers[node] === handle || state.servers[node] == nil { state.listening.remove(node) }
            if state.servers[node] !== handle, state.closing > 0 { state.closing -= 1 }
        }
    }

    // MARK: Requests

    private func respond(
        to request: Request,
        node: String,
        context: SimulatedAPIRequestContext
    ) async throws -> Response {
        let faults = self.faults(of: node)
        // A stopping node answers nothing more: delays end at its shutdown, unanswered.
        if faults.latency > .zero { try await cancelWhenGracefulShutdown { try await Task.sleep(for: faults.latency) } }
        let isV5 = configuration.kind == .emqx
        if faults.serverErrors {
            return Self.response(
                EMQXHTTPResponse.error(500, "INTERNAL_ERROR", "simulated fault: node \(node) answers 500")
            )
        }
        let path = request.uri.path
        if path.hasSuffix("/prometheus/stats") || path.hasSuffix("/emqx_prometheus"),
            self.faults(of: node).metricsUnresponsive
        {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: faults.unresponsiveLimit)
            while self.faults(of: node).metricsUnresponsive, state.withLock({ $0.listening.contains(node) }) {
                if Task.isShuttingDownGracefully { throw CancellationError() }
                guard clock.now < deadline else {
                    return Self.response(
                        isV5
                            ? .error(503, "SERVICE_UNAVAILABLE", "metrics collection timed out")
                            : EMQXHTTPResponse(status: 503, body: "")
                    )
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        let simulated = EMQXHTTPRequest(
            method: request.method.rawValue,
            path: path,
            query: Self.query(request.uri.query),
            authorization: request.headers[.authorization],
            body: String(buffer: body)
        )
        let answer = state.withLock { state in
            EMQXHTTPAPI.handle(simulated, node: node, model: &state.model)
        }
        if let lost = faults.lostStartAnswer, simulated.method == "POST", path.hasSuffix("/start"),
            !path.contains("/evacuation/"), answer.status == 200
        {
            switch lost {
            case .internalError:
                return Self.response(
                    EMQXHTTPResponse.error(
                        500,
                        "INTERNAL_ERROR",
                        "simulated fault: the rebalance started, the answer was lost"
                    )
                )
            case .dropConnection:
                context.channel.close(promise: nil)
                return Response(status: .internalServerError)
            }
        }
        return Self.response(answer)
    }

    static func query(_ query: String?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if let key = parts.first { result[key] = parts.count > 1 ? parts[1] : "" }
        }
        return result
    }

    static func response(_ answer: EMQXHTTPResponse) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = answer.contentType
        if let challenge = answer.headers["WWW-Authenticate"] { headers[.wwwAuthenticate] = challenge }
        return Response(
            status: HTTPResponse.Status(code: answer.status),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body))
        )
    }
}
