import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Hummingbird
import Kubernetes
import NIOCore
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The live load_rebalance client over real loopback HTTP, against the request and response bodies EMQX documents
/// (emqx-metrics-facts.md "load_rebalance", from `emqx_node_rebalance_api.erl`), written out here by hand rather than
/// produced by the simulator's encoder, so one misunderstanding cannot hide in both.
@Suite struct EMQXRebalanceAPITests {
    /// What the fake EMQX saw.
    final class Seen: Sendable {
        struct Request: Sendable {
            var method: String
            var path: String
            var authorization: String?
            var body: String
        }
        let requests = Mutex<[Request]>([])
        var all: [Request] { requests.withLock { $0 } }
    }

    static let coordinator = "emqx@emqx-core-0.emqx-headless.emqx.svc.cluster.local"
    static let authorization = HTTPBasic.header(username: "agent-key", password: "s3cr3t-value")

    /// A fake EMQX 5 answering `start` with `startAnswer`, and fixed documented bodies elsewhere.
    static func router(
        seen: Seen,
        startAnswer: (status: HTTPResponse.Status, body: String) = (.ok, "{}"),
        globalStatus: String = emptyGlobalStatus
    ) -> Router<BasicRequestContext> {
        let router = Router()
        @Sendable func record(_ request: Request, _ context: BasicRequestContext) async throws {
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            seen.requests.withLock {
                $0.append(
                    .init(
                        method: request.method.rawValue,
                        path: request.uri.path,
                        authorization: request.headers[.authorization],
                        body: String(buffer: body)
                    )
                )
            }
        }
        @Sendable func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
            Response(
                status: status,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: text))
            )
        }
        router.post("/api/v5/load_rebalance/:node/start") { request, context in
            try await record(request, context)
            return json(startAnswer.status, startAnswer.body)
        }
        router.post("/api/v5/load_rebalance/:node/stop") { request, context in
            try await record(request, context)
            return json(.badRequest, #"{"code":"BAD_REQUEST","message":"error on node 'emqx@10.0.0.9': not_started"}"#)
        }
        router.get("/api/v5/load_rebalance/global_status") { request, context in
            try await record(request, context)
            if request.headers[.authorization] != authorization {
                return json(.unauthorized, #"{"code":"BAD_API_KEY_OR_SECRET","message":"Check api_key/api_secret"}"#)
            }
            return json(.ok, globalStatus)
        }
        router.get("/api/v5/nodes") { request, context in
            try await record(request, context)
            return json(.forbidden, #"{"code":"FORBIDDEN","message":"Insufficient scope"}"#)
        }
        return router
    }

    /// Configured as `run` configures its client: a refused connection fails at once instead of being retried until
    /// the deadline. Lives as long as the test process.
    static let httpClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    static let emptyGlobalStatus = #"{"evacuations":[],"purges":[],"rebalances":[]}"#
    /// A running rebalance as `global_status` reports it (every field of the documented entry).
    static let runningGlobalStatus = """
        {"evacuations":[],"purges":[],"rebalances":[{"node":"\(coordinator)","state":"evicting_conns",\
        "coordinator_node":"\(coordinator)","donors":["emqx@10.0.0.1","emqx@10.0.0.2"],"recipients":["emqx@10.0.0.3"],\
        "connection_eviction_rate":10,"session_eviction_rate":20,"connection_goal":0.0,"disconnected_session_goal":0,\
        "donor_conn_avg":3333.5,"donor_sess_avg":3333.5}]}
        """

    func client(
        _ ports: [Int],
        authorization: String? = authorization,
        timeout: Duration = .seconds(10),
        scheme: String = "http://127.0.0.1"
    ) -> HTTPEMQXRebalanceAPI {
        HTTPEMQXRebalanceAPI(
            httpClient: Self.httpClient,
            endpoint: .init(baseURLs: ports.map { "\(scheme):\($0)" }, authorization: authorization, timeout: timeout)
        )
    }

    @Test func startSendsEMQXFieldNamesToTheCoordinatorPath() async throws {
        let seen = Seen()
        try await withLoopbackServer(Self.router(seen: seen)) { port in
            let strategy = RebalanceStrategy(
                connEvictRate: 10,
                sessEvictRate: 20,
                waitTakeover: 5,
                waitHealthCheck: 30,
                absConnThreshold: 100,
                absSessThreshold: 200,
                relConnThreshold: "1.1",
                relSessThreshold: "1.25"
            )
            let request = try LoadRebalance.StartRequest.make(
                strategy: strategy,
                nodes: ["emqx@10.0.0.1", "emqx@10.0.0.3"],
                fieldPrefix: "spec.strategy"
            ).get()
            try await client([port]).start(coordinator: Self.coordinator, request)
        }
        let start = try #require(seen.all.first)
        #expect(start.method == "POST")
        #expect(start.path == "/api/v5/load_rebalance/\(Self.coordinator)/start")
        #expect(start.authorization == Self.authorization)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(start.body.utf8)) as? [String: Any])
        #expect(
            Set(body.keys) == [
                "nodes", "conn_evict_rate", "sess_evict_rate", "wait_health_check", "wait_takeover",
                "abs_conn_threshold",
                "rel_conn_threshold", "abs_sess_threshold", "rel_sess_threshold",
            ]
        )
        #expect(body["nodes"] as? [String] == ["emqx@10.0.0.1", "emqx@10.0.0.3"])
        #expect(body["conn_evict_rate"] as? Int == 10)
        #expect(body["wait_health_check"] as? Int == 30)  // integer seconds, as the operator sends them
        #expect(body["rel_sess_threshold"] as? Double == 1.25)  // a JSON number for EMQX, not the CRD's string
    }

    @Test func omittedStrategyFieldsAreLeftToEMQXDefaults() throws {
        let request = try LoadRebalance.StartRequest.make(
            strategy: RebalanceStrategy(connEvictRate: 7),
            nodes: ["a"],
            fieldPrefix: "spec.strategy"
        ).get()
        let body = try #require(try JSONSerialization.jsonObject(with: request.body()) as? [String: Any])
        #expect(Set(body.keys) == ["nodes", "conn_evict_rate"])
    }

    @Test func strategyEMQXWouldRefuseIsNamedByField() {
        let strategy = RebalanceStrategy(
            connEvictRate: 0,
            sessEvictRate: -1,
            relConnThreshold: "1.0",
            relSessThreshold: "fast"
        )
        guard
            case .failure(let problems) = LoadRebalance.StartRequest.make(
                strategy: strategy,
                nodes: [],
                fieldPrefix: "spec.strategy"
            )
        else {
            Issue.record("accepted an invalid strategy")
            return
        }
        #expect(
            problems.problems.map(\.field) == [
                "spec.strategy.connEvictRate", "spec.strategy.sessEvictRate", "spec.strategy.relConnThreshold",
                "spec.strategy.relSessThreshold", "nodes",
            ]
        )
    }

    @Test(arguments: [
        (#"{"code":"BAD_REQUEST","message":"error on node 'emqx@10.0.0.1': already_started"}"#, "already-started"),
        (
            #"{"code":"BAD_REQUEST","message":"error on node 'emqx@10.0.0.1': nothing_to_balance"}"#,
            "nothing-to-balance"
        ),
        (#"{"code":"NOT_FOUND","message":"Nodes unavailable"}"#, "nodes-unavailable"),
        (#"{"code":"BAD_REQUEST","message":"rel_conn_threshold: must be greater than 1.0"}"#, "bad-request"),
    ])
    func startRefusalsAreClassified(body: String, reason: String) async throws {
        let seen = Seen()
        let failure = try await withLoopbackServer(Self.router(seen: seen, startAnswer: (.badRequest, body))) { port in
            do {
                try await client([port]).start(
                    coordinator: Self.coordinator,
                    .init(nodes: ["a", "b"], connEvictRate: 1)
                )
                return nil as LoadRebalance.Failure?
            } catch { return error as? LoadRebalance.Failure }
        }
        #expect(failure?.reasonClass == reason)
        #expect(failure?.provesNothingStarted == true)
        #expect(seen.all.count == 1)
    }

    @Test func serverErrorLeavesTheStartUnknownAndIsNotRetried() async throws {
        let seen = Seen()
        let failure = try await withLoopbackServer(
            Self.router(seen: seen, startAnswer: (.serviceUnavailable, #"{"code":"RPC_ERROR","message":"timeout"}"#))
        ) { port in
            do {
                // Two addresses: a write must still go to one only.
                try await client([port, port]).start(
                    coordinator: Self.coordinator,
                    .init(nodes: ["a", "b"], connEvictRate: 1)
                )
                return nil as LoadRebalance.Failure?
            } catch { return error as? LoadRebalance.Failure }
        }
        #expect(failure == .server(status: 503, message: "timeout"))
        #expect(failure?.provesNothingStarted == false)
        #expect(seen.all.filter { $0.path.hasSuffix("/start") }.count == 1)
    }

    @Test func globalStatusDecodesTheDocumentedEntry() async throws {
        let status = try await withLoopbackServer(Self.router(seen: Seen(), globalStatus: Self.runningGlobalStatus)) {
            port in
            try await client([port]).globalStatus()
        }
        let entry = try #require(status.rebalance(coordinatedBy: Self.coordinator))
        #expect(entry.state == "evicting_conns")
        #expect(entry.donors == ["emqx@10.0.0.1", "emqx@10.0.0.2"])
        #expect(entry.recipients == ["emqx@10.0.0.3"])
        #expect(entry.connectionEvictionRate == 10)
        #expect(entry.sessionEvictionRate == 20)
        #expect(entry.donorConnectionAverage == 3333.5)
        #expect(!status.isIdle)
        #expect(status.blockingReason?.contains(Self.coordinator) == true)
    }

    @Test func anyEvacuationOrPurgeBlocksToo() throws {
        let evacuating = try JSONDecoder().decode(
            LoadRebalance.GlobalStatus.self,
            from: Data(
                #"{"evacuations":[{"node":"emqx@10.0.0.2","state":"evicting_conns","connection_eviction_rate":500}],"purges":[],"rebalances":[]}"#
                    .utf8
            )
        )
        #expect(evacuating.blockingReason == "EMQX reports an evacuation of emqx@10.0.0.2 (evicting_conns)")
        // 4.4 and early 5.x answer without `purges`.
        let idle = try JSONDecoder().decode(
            LoadRebalance.GlobalStatus.self,
            from: Data(#"{"evacuations":[],"rebalances":[]}"#.utf8)
        )
        #expect(idle.isIdle)
    }

    @Test func hostileNumbersAreUnknownAndAWrongShapeIsRefused() throws {
        let hostile =
            #"{"rebalances":[{"node":"n","connection_eviction_rate":1e300,"session_eviction_rate":-5,"donor_conn_avg":"x","donors":"n"}]}"#
        let status = try JSONDecoder().decode(LoadRebalance.GlobalStatus.self, from: Data(hostile.utf8))
        let entry = try #require(status.rebalances.first)
        #expect(entry.connectionEvictionRate == nil)
        #expect(entry.sessionEvictionRate == nil)
        #expect(entry.donorConnectionAverage == nil)
        #expect(entry.donors == nil)
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(LoadRebalance.GlobalStatus.self, from: Data(#"{"rebalances":{"n":{}}}"#.utf8))
        }
    }

    @Test func wrongKeyIsOneClearErrorWithoutTheSecret() async throws {
        let seen = Seen()
        let failure = try await withLoopbackServer(Self.router(seen: seen)) { port in
            do {
                _ = try await client(
                    [port, port],
                    authorization: HTTPBasic.header(username: "agent-key", password: "wrong-secret")
                ).globalStatus()
                return nil as LoadRebalance.Failure?
            } catch { return error as? LoadRebalance.Failure }
        }
        let error = try #require(failure)
        #expect(error.isCredentialProblem)
        #expect(!error.description.contains("wrong-secret"))
        // A refusal of the key is the same on every node: the second address is not asked.
        #expect(seen.all.count == 1)
    }

    @Test func forbiddenNamesTheScope() async throws {
        let failure = try await withLoopbackServer(Self.router(seen: Seen())) { port in
            do {
                _ = try await client([port]).nodes()
                return nil as LoadRebalance.Failure?
            } catch { return error as? LoadRebalance.Failure }
        }
        #expect(failure?.reasonClass == "forbidden")
        #expect(failure?.description.contains("cluster_operations") == true)
    }

    @Test func stopOfNothingIsNotStarted() async throws {
        let failure = try await withLoopbackServer(Self.router(seen: Seen())) { port in
            do {
                try await client([port]).stop(coordinator: Self.coordinator)
                return nil as LoadRebalance.Failure?
            } catch { return error as? LoadRebalance.Failure }
        }
        #expect(failure?.reasonClass == "not-started")
    }

    @Test func readsFailOverToTheNextAddress() async throws {
        let (closed, socket) = try #require(Self.closedLoopbackPort())
        defer { close(socket) }
        let status = try await withLoopbackServer(Self.router(seen: Seen(), globalStatus: Self.runningGlobalStatus)) {
            port in
            try await client([closed, port]).globalStatus()
        }
        #expect(status.rebalances.count == 1)
    }

    @Test func credentialsInTheURLNeverReachAnError() async throws {
        let (closed, socket) = try #require(Self.closedLoopbackPort())
        defer { close(socket) }
        do {
            _ = try await client([closed], authorization: nil, scheme: "http://agent-key:url-secret@127.0.0.1")
                .globalStatus()
            Issue.record("a closed port answered")
        } catch {
            #expect(error.reasonClass == "unreachable")
            #expect(!error.description.contains("url-secret"))
        }
    }

    /// A loopback port nobody listens on, and the socket that holds it: bound without listening, so connecting is
    /// refused, and kept bound (close it after the test) so no other test's server can be given the same port while
    /// this one connects to it.
    static func closedLoopbackPort() -> (port: Int, socket: Int32)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            return nil
        }
        return (Int(UInt16(bigEndian: address.sin_port)), fd)
    }

    @Test func nodesDecodeRolesStatusAndCounts() throws {
        let body = #"""
            [{"node":"emqx@emqx-core-0.emqx-headless.emqx.svc.cluster.local","connections":3400,"live_connections":3333,"node_status":"running","uptime":86400000,"version":"5.8.9","edition":"Enterprise","role":"core"},
             {"node":"emqx@10.0.0.7","node_status":"stopped","role":"replicant"},
             {"node":"emqx@10.0.0.8","live_connections":-1,"connections":1.5,"node_status":"running","role":"witch"}]
            """#
        let nodes = try JSONDecoder().decode([LoadRebalance.NodeInfo].self, from: Data(body.utf8))
        #expect(nodes.map(\.isRunning) == [true, false, true])
        #expect(
            nodes[0].role == .core && nodes[0].liveConnections == 3333 && nodes[0].sessions == 3400
                && nodes[0].uptimeMilliseconds == 86_400_000
        )
        #expect(nodes[1].role == .replicant && nodes[1].liveConnections == nil)
        #expect(nodes[2].role == nil && nodes[2].liveConnections == nil && nodes[2].sessions == nil)
    }
}
