import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Hummingbird
import NIOCore
import Observe
import Synchronization
import TestSupport
import Testing

/// The request paths a test server saw.
final class PathLog: Sendable {
    let paths = Mutex<[String]>([])
}

struct EMQXScrapeSourceTests {
    static let cluster = ClusterReference(namespace: "default", name: "emqx-ee")
    static let scrapeTime = Date(timeIntervalSince1970: 1_800_000_000)

    static func stats(live: Int, connections: Int, sessions: Int) -> String {
        """
        # TYPE emqx_connections_count gauge
        # HELP emqx_connections_count 
        emqx_connections_count \(connections)
        # TYPE emqx_live_connections_count gauge
        emqx_live_connections_count \(live)
        # TYPE emqx_sessions_count gauge
        emqx_sessions_count \(sessions)
        # TYPE emqx_cluster_nodes_running gauge
        emqx_cluster_nodes_running 3

        """
    }

    /// Three simulated nodes under path prefixes /a, /b, /c of one loopback server; /c never answers (it waits until
    /// the server stops), so a scrape of it can only end by the source's timeout, however loaded the machine is.
    static func router(requireAuth: String? = nil, log: PathLog = PathLog()) -> Router<BasicRequestContext> {
        let router = Router()
        let bodies = [
            "a": stats(live: 3333, connections: 3400, sessions: 3500),
            "b": stats(live: 10, connections: 12, sessions: 14),
        ]
        for node in ["a", "b", "c"] {
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
                log.paths.withLock { $0.append(request.uri.description) }
                if let requireAuth, request.headers[.authorization] != requireAuth {
                    return Response(status: .unauthorized)
                }
                if node == "c" { await waitUntilServerShutdown() }
                return Response(
                    status: .ok,
                    headers: [.contentType: "text/plain"],
                    body: .init(byteBuffer: ByteBuffer(string: bodies[node] ?? ""))
                )
            }
            router.get("/\(node)/api/v5/prometheus/stats", use: handler)
            router.get("/\(node)/api/v4/emqx_prometheus", use: handler)
        }
        router.get("/a/api/v5/nodes") { _, _ -> Response in
            let json =
                #"[{"node":"emqx@a","uptime":120000,"node_status":"running","role":"core"},{"node":"emqx@b","uptime":5000,"node_status":"running","role":"replicant"}]"#
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: json))
            )
        }
        router.get("/garbage/api/v5/prometheus/stats") { _, _ -> Response in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "<html>not metrics</html>")))
        }
        return router
    }

    /// The timeout is generous: a node that answers always answers within it, even on a busy machine; only /c, which
    /// never answers, runs into it.
    static func source(
        port: Int,
        nodes: [String] = ["a", "b", "c"],
        _ change: (inout EMQXScrapeSource.Configuration) -> Void = { _ in }
    ) throws -> EMQXScrapeSource {
        var configuration = EMQXScrapeSource.Configuration(
            targets: Dictionary(uniqueKeysWithValues: nodes.map { ("emqx@\($0)", "http://127.0.0.1:\(port)/\($0)") }),
            timeout: .seconds(5)
        )
        change(&configuration)
        return try EMQXScrapeSource(configuration: configuration, httpClient: .shared, now: { scrapeTime })
    }

    static let expected = ["a", "b", "c"].map { ExpectedNode(name: "emqx@\($0)") }

    @Test func scrapesEveryNodeAndReportsTheSlowOneMissing() async throws {
        let observation = try await withLoopbackServer(Self.router()) { port in
            try await Self.source(port: port).observe(
                ObservationRequest(cluster: Self.cluster, expectedNodes: Self.expected)
            )
        }
        #expect(observation.nodes.map(\.name) == ["emqx@a", "emqx@b"])
        #expect(observation.nodes.map(\.liveConnections) == [3333, 10])
        #expect(observation.nodes.map(\.connections) == [3400, 12])
        #expect(observation.nodes.map(\.sessions) == [3500, 14])
        #expect(observation.nodes.allSatisfy { $0.observedAt == Self.scrapeTime && $0.running == true })
        #expect(observation.warnings.count == 1)
        #expect(observation.warnings.first?.contains("emqx@c") == true)
        #expect(observation.warnings.first?.contains("did not answer within") == true)
    }

    @Test func nodeInfoAddsUptimeAndRole() async throws {
        let observation = try await withLoopbackServer(Self.router()) { port in
            try await Self.source(port: port, nodes: ["a", "b"]) { $0.fetchNodeInfo = true }
                .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: Array(Self.expected.prefix(2))))
        }
        #expect(observation.nodes.map(\.uptimeSeconds) == [120, 5])
        #expect(observation.nodes.map(\.role) == [.core, .replicant])
    }

    @Test func emqx44Path() async throws {
        let log = PathLog()
        let observation = try await withLoopbackServer(Self.router(log: log)) { port in
            try await Self.source(port: port, nodes: ["a"])
                .observe(
                    ObservationRequest(
                        cluster: ClusterReference(namespace: "default", name: "old", kind: .emqxEnterprise),
                        expectedNodes: [Self.expected[0]]
                    )
                )
        }
        #expect(observation.nodes.first?.liveConnections == 3333)
        #expect(log.paths.withLock { $0 } == ["/a/api/v4/emqx_prometheus?type=prometheus"])
    }

    @Test func authentication() async throws {
        try await withLoopbackServer(Self.router(requireAuth: "Basic a2V5OnNlY3JldA==")) { port in
            let denied = await #expect(throws: EMQXScrapeError.self) {
                try await Self.source(port: port, nodes: ["a"]).observe(
                    ObservationRequest(cluster: Self.cluster, expectedNodes: [Self.expected[0]])
                )
            }
            #expect(String(describing: denied).contains("401"))
            let observation = try await Self.source(port: port, nodes: ["a"]) {
                $0.authorization = .basic(username: "key", password: "secret")
            }
            .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: [Self.expected[0]]))
            #expect(observation.nodes.first?.liveConnections == 3333)
        }
    }

    /// One observation of node `emqx@a` (which answers) and `node`, served under `path` of `router`.
    static func observeAAnd(
        _ node: String,
        at path: String,
        on router: Router<BasicRequestContext>,
        timeout: Duration
    ) async throws -> SourceObservation {
        try await withLoopbackServer(router) { port in
            var configuration = EMQXScrapeSource.Configuration(targets: [
                "emqx@a": "http://127.0.0.1:\(port)/a", node: "http://127.0.0.1:\(port)\(path)",
            ])
            configuration.timeout = timeout
            return try await EMQXScrapeSource(configuration: configuration, httpClient: .shared)
                .observe(
                    ObservationRequest(cluster: cluster, expectedNodes: [expected[0], ExpectedNode(name: node)])
                )
        }
    }

    @Test func garbageBodyMakesTheNodeMissing() async throws {
        let observation = try await Self.observeAAnd("emqx@g", at: "/garbage", on: Self.router(), timeout: .seconds(10))
        #expect(observation.nodes.map(\.name) == ["emqx@a"])
        #expect(observation.warnings.first?.contains("emqx@g") == true)
    }

    /// A node that answers 500 and never ends its body is reported with the start of that body, long before the
    /// timeout: only a preview of an error body is read.
    @Test func anEndlessErrorBodyIsReadOnlyForItsPreview() async throws {
        let router = Self.router()
        router.get("/endless/api/v5/prometheus/stats") { _, _ -> Response in
            Response(
                status: .internalServerError,
                body: ResponseBody { writer in
                    let chunk = ByteBuffer(string: "overloaded " + String(repeating: "x", count: 1000))
                    while !Task.isCancelled { try await writer.write(chunk) }
                    try await writer.finish(nil)
                }
            )
        }
        let observation = try await Self.observeAAnd("emqx@e", at: "/endless", on: router, timeout: .seconds(60))
        #expect(observation.nodes.map(\.name) == ["emqx@a"])
        let warning = try #require(observation.warnings.first { $0.contains("emqx@e") })
        #expect(warning.contains("answered HTTP 500: overloaded xxx"))
    }

    @Test func hostFromNodeName() throws {
        let source = try EMQXScrapeSource(configuration: .init(), httpClient: .shared)
        #expect(
            source.baseURL(of: "emqx@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local")
                == "http://emqx-ee-0.emqx-ee-headless.default.svc.cluster.local:18083"
        )
        #expect(source.baseURL(of: "emqx@10.0.3.7") == "http://10.0.3.7:18083")
        #expect(source.baseURL(of: "emqx@fd00::7") == "http://[fd00::7]:18083")
        let https = try EMQXScrapeSource(configuration: .init(scheme: "https", port: 18084), httpClient: .shared)
        #expect(https.baseURL(of: "emqx@10.0.3.7") == "https://10.0.3.7:18084")
    }

    @Test func everyNodeDownThrows() async throws {
        let error = await #expect(throws: EMQXScrapeError.self) {
            try await EMQXScrapeSource(
                configuration: .init(targets: ["emqx@a": "http://127.0.0.1:9"], timeout: .seconds(2)),
                httpClient: .shared
            )
            .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: [Self.expected[0]]))
        }
        #expect(String(describing: error).contains("emqx@a"))
    }

    @Test(.enabled(if: Fixtures.available, "../shared/fixtures not found; recorded EMQX scrape skipped"))
    func recordedEMQX5AndEMQX44Bodies() async throws {
        let v5 = String(decoding: try Fixtures.data("emqx/emqx5-node-stats.prom"), as: UTF8.self)
        let v4 = String(decoding: try Fixtures.data("emqx/emqx44-node-stats.prom"), as: UTF8.self)
        let router = Router()
        router.get("/v5/api/v5/prometheus/stats") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: v5)))
        }
        router.get("/v4/api/v4/emqx_prometheus") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: v4)))
        }
        let (five, four) = try await withLoopbackServer(router) { port in
            let five = try await EMQXScrapeSource(
                configuration: .init(targets: ["emqx@x": "http://127.0.0.1:\(port)/v5"]),
                httpClient: .shared
            )
            .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: [ExpectedNode(name: "emqx@x")]))
            let four = try await EMQXScrapeSource(
                configuration: .init(apiVersion: .v4, targets: ["emqx@y": "http://127.0.0.1:\(port)/v4"]),
                httpClient: .shared
            )
            .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: [ExpectedNode(name: "emqx@y")]))
            return (five, four)
        }
        #expect(five.nodes.first?.liveConnections == 48213)
        #expect(five.nodes.first?.connections == 49870)
        #expect(five.nodes.first?.sessions == 49870)
        #expect(four.nodes.first?.liveConnections == 30188)
        #expect(four.nodes.first?.connections == 30412)
    }
}
