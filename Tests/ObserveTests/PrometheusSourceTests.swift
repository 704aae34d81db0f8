import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Hummingbird
import NIOCore
import Observe
import Synchronization
import TestSupport
import Testing

/// A fake Prometheus answering `/api/v1/query` by which metric the query names.
final class FakePrometheus: Sendable {
    let answers: [String: String]
    let requiredAuthorization: String?
    /// Never answers (waits until the server shuts down).
    let hangs: Bool
    let queries = Mutex<[String]>([])
    let methods = Mutex<[String]>([])

    init(answers: [String: String], requiredAuthorization: String? = nil, hangs: Bool = false) {
        self.answers = answers
        self.requiredAuthorization = requiredAuthorization
        self.hangs = hangs
    }

    var router: Router<BasicRequestContext> {
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            if let required = self.requiredAuthorization, request.headers[.authorization] != required {
                return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "Unauthorized")))
            }
            if self.hangs { await waitUntilServerShutdown() }
            var query = request.uri.queryParameters.get("query") ?? ""
            if request.method == .post {
                let body = try await request.body.collect(upTo: 1 << 20)
                let form = String(buffer: body)
                for pair in form.split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    if parts.count == 2, parts[0] == "query" {
                        query = parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? parts[1]
                    }
                }
            }
            self.queries.withLock { $0.append(query) }
            self.methods.withLock { $0.append(request.method.rawValue) }
            let key = self.answers.keys.sorted().first { query.contains($0) } ?? ""
            let body = self.answers[key] ?? #"{"status":"success","data":{"resultType":"vector","result":[]}}"#
            let status: HTTPResponse.Status = body.contains(#""status":"error""#) ? .badRequest : .ok
            return Response(
                status: status,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body))
            )
        }
        router.get("/api/v1/query", use: handler)
        router.post("/api/v1/query", use: handler)
        router.get("/api/v1/query_range", use: handler)
        return router
    }
}

enum PromBodies {
    static func vector(
        _ series: [(labels: [String: String], value: String)],
        time: Double = 1795621027.659,
        warnings: [String]? = nil
    ) -> String {
        let items = series.map { item -> String in
            let labels = item.labels.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(
                separator: ","
            )
            return "{\"metric\":{\(labels)},\"value\":[\(time),\"\(item.value)\"]}"
        }
        let warningText = warnings.map { ",\"warnings\":[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? ""
        return
            "{\"status\":\"success\"\(warningText),\"data\":{\"resultType\":\"vector\",\"result\":[\(items.joined(separator: ","))]}}"
    }
}

struct PrometheusSourceTests {
    static let cluster = ClusterReference(namespace: "default", name: "emqx-ee")
    static let nodes = (0..<4).map {
        ExpectedNode(name: "emqx@emqx-ee-\($0).emqx-ee-headless.default.svc.cluster.local")
    }

    static func source(
        port: Int,
        _ change: (inout PrometheusSource.Configuration) -> Void = { _ in }
    ) throws -> PrometheusSource {
        var configuration = PrometheusSource.Configuration(baseURL: "http://127.0.0.1:\(port)/", timeout: .seconds(5))
        change(&configuration)
        return try PrometheusSource(configuration: configuration, httpClient: .shared)
    }

    @Test func observesByPodLabelAndReportsMissingNodes() async throws {
        let fake = FakePrometheus(answers: [
            "emqx_live_connections_count": PromBodies.vector(
                [
                    (["pod": "emqx-ee-0"], "3333"), (["pod": "emqx-ee-1"], "3333"), (["pod": "emqx-ee-2"], "3334"),
                    (["pod": "other-7"], "5"),
                ],
                warnings: ["partial result"]
            ),
            "emqx_sessions_count": PromBodies.vector(
                [(["pod": "emqx-ee-0"], "3353"), (["pod": "emqx-ee-2"], "3354")],
                time: 1_795_621_028
            ),
        ])
        let observation = try await withLoopbackServer(fake.router) { port in
            try await Self.source(port: port) {
                $0.nodeLabel = "pod"
                $0.selector = PrometheusSelector(perCluster: [
                    "default/emqx-ee": #"k8s_ns="default", cluster="emqx-ee""#
                ])
            }.observe(ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes))
        }
        #expect(observation.nodes.map(\.name) == Array(Self.nodes.prefix(3).map(\.name)))
        #expect(observation.nodes.map(\.liveConnections) == [3333, 3333, 3334])
        #expect(observation.nodes.map(\.sessions) == [3353, nil, 3354])
        // connections: the empty vector is unknown, never zero.
        #expect(observation.nodes.allSatisfy { $0.connections == nil })
        #expect(observation.nodes[0].observedAt == Date(timeIntervalSince1970: 1795621027.659))
        #expect(observation.warnings.contains { $0.contains("partial result") })
        #expect(observation.warnings.contains { $0.contains("other-7") })
        #expect(observation.warnings.contains { $0.contains("emqx-ee-3") && $0.contains("no Prometheus series") })
        let queries = fake.queries.withLock { $0 }
        #expect(queries.contains(#"max by (pod) (emqx_live_connections_count{k8s_ns="default", cluster="emqx-ee"})"#))
        #expect(queries.count == 3)
    }

    @Test func aQueryMatchingNoSeriesSaysSoWithTheQuerySent() async throws {
        // No answers at all: every query returns an empty vector (a selector with a `cluster` label the scrape lacks).
        let fake = FakePrometheus(answers: [:])
        let observation = try await withLoopbackServer(fake.router) { port in
            try await Self.source(port: port).observe(
                ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes)
            )
        }
        #expect(observation.nodes.isEmpty)
        let sent = #"max by (node) (emqx_live_connections_count{namespace="default", cluster="emqx-ee"})"#
        #expect(
            observation.warnings.contains(
                "the live connections query matched no series; check selector/nodeLabel (query sent: \(sent))"
            )
        )
        #expect(observation.warnings.filter { $0.contains("matched no series") }.count == 3)
        #expect(
            !observation.warnings.contains { $0.contains("no Prometheus series for") },
            "no second line saying the same"
        )
    }

    @Test func defaultSelectorAndPOST() async throws {
        let fake = FakePrometheus(answers: [
            "emqx_live_connections_count": PromBodies.vector([(["node": Self.nodes[0].name], "7")])
        ])
        let observation = try await withLoopbackServer(fake.router) { port in
            try await Self.source(port: port) { $0.usePOST = true }
                .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes))
        }
        #expect(observation.nodes.count == 1)
        #expect(observation.nodes[0].liveConnections == 7)
        #expect(fake.methods.withLock { $0 } == ["POST", "POST", "POST"])
        #expect(
            fake.queries.withLock { $0 }.contains(
                #"max by (node) (emqx_live_connections_count{namespace="default", cluster="emqx-ee"})"#
            )
        )
    }

    @Test func instanceLabelMapsToNodeNames() async throws {
        let fake = FakePrometheus(answers: [
            "emqx_live_connections_count": PromBodies.vector([
                (["instance": "emqx-ee-0.emqx-ee-headless.default.svc:18083"], "10"),
                (["instance": "10.0.3.7:18083"], "20"),
            ])
        ])
        let expected = [
            ExpectedNode(name: Self.nodes[0].name, role: .core), ExpectedNode(name: "emqx@10.0.3.7", role: .replicant),
        ]
        let observation = try await withLoopbackServer(fake.router) { port in
            try await Self.source(port: port) {
                $0.nodeLabel = "instance"
                $0.queries.sessions = nil
            }
            .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: expected))
        }
        #expect(observation.nodes.map(\.name) == expected.map(\.name))
        #expect(observation.nodes.map(\.liveConnections) == [10, 20])
        #expect(observation.nodes.map(\.role) == [.core, .replicant])
    }

    @Test func statusErrorIsSurfaced() async throws {
        let fake = FakePrometheus(answers: [
            "emqx_": #"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": parse error"}"#
        ])
        let error = await #expect(throws: PrometheusResponseError.self) {
            try await withLoopbackServer(fake.router) { port in
                try await Self.source(port: port).observe(
                    ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes)
                )
            }
        }
        guard case .apiError(let type, let text, _) = error else {
            Issue.record("not an API error: \(String(describing: error))")
            return
        }
        #expect(type == "bad_data")
        #expect(text.contains("parse error"))
    }

    @Test func garbageBodyIsAnError() async throws {
        let fake = FakePrometheus(answers: ["emqx_": "<html>Bad Gateway</html>"])
        let error = await #expect(throws: PrometheusResponseError.self) {
            try await withLoopbackServer(fake.router) { port in
                try await Self.source(port: port).observe(
                    ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes)
                )
            }
        }
        #expect(String(describing: error).contains("not a Prometheus API answer"))
    }

    @Test func authentication() async throws {
        let fake = FakePrometheus(
            answers: [
                "emqx_live_connections_count": PromBodies.vector([(["node": Self.nodes[0].name], "1")])
            ],
            requiredAuthorization: "Bearer s3cret"
        )
        try await withLoopbackServer(fake.router) { port in
            let denied = await #expect(throws: SourceFetchError.self) {
                try await Self.source(port: port) { $0.authorization = .bearer(token: "wrong") }
                    .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes))
            }
            guard case .unauthorized(_, let status) = denied else {
                Issue.record("not unauthorized: \(String(describing: denied))")
                return
            }
            #expect(status == 401)
            #expect(!String(describing: denied).contains("wrong"))
            let observation = try await Self.source(port: port) { $0.authorization = .bearer(token: "s3cret") }
                .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes))
            #expect(observation.nodes.first?.liveConnections == 1)
        }
    }

    @Test func basicAuthorizationHeader() {
        #expect(HTTPAuthorization.basic(username: "key", password: "secret").headerValue == "Basic a2V5OnNlY3JldA==")
    }

    @Test func timeout() async throws {
        // A Prometheus that never answers: only the timeout can end the query.
        let fake = FakePrometheus(answers: [:], hangs: true)
        let error = await #expect(throws: SourceFetchError.self) {
            try await withLoopbackServer(fake.router) { port in
                try await Self.source(port: port) { $0.timeout = .milliseconds(300) }
                    .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes))
            }
        }
        guard case .timeout = error else {
            Issue.record("not a timeout: \(String(describing: error))")
            return
        }
    }

    @Test func unreachable() async throws {
        // Port 9 (discard) on loopback: nothing listens there in the test environment.
        let error = await #expect(throws: SourceFetchError.self) {
            try await Self.source(port: 9) { $0.timeout = .seconds(2) }
                .observe(ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes))
        }
        #expect(error != nil)
    }

    @Test func queryRangeReturnsMatrix() async throws {
        let body =
            #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"node":"emqx@a"},"values":[[100,"1"],[105,"2"]]}]}}"#
        let fake = FakePrometheus(answers: ["emqx_live": body])
        let matrix = try await withLoopbackServer(fake.router) { port in
            try await Self.source(port: port).queryRange(
                query: "emqx_live_connections_count",
                start: Date(timeIntervalSince1970: 100),
                end: Date(timeIntervalSince1970: 105),
                step: .seconds(5)
            )
        }
        #expect(matrix.count == 1)
        #expect(matrix[0].samples.map(\.value) == [1, 2])
    }

    @Test(.enabled(if: Fixtures.available, "../shared/fixtures not found; recorded Prometheus responses skipped"))
    func recordedResponses() async throws {
        let fake = FakePrometheus(answers: [
            "emqx_live_connections_count": String(
                decoding: try Fixtures.data("prometheus/query-vector-live-connections.json"),
                as: UTF8.self
            ),
            "emqx_sessions_count": String(
                decoding: try Fixtures.data("prometheus/query-vector-sessions-by-node.json"),
                as: UTF8.self
            ),
            "emqx_connections_count": String(
                decoding: try Fixtures.data("prometheus/query-vector-empty.json"),
                as: UTF8.self
            ),
        ])
        let observation = try await withLoopbackServer(fake.router) { port in
            try await Self.source(port: port).observe(
                ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes)
            )
        }
        #expect(observation.nodes.map(\.liveConnections) == [3333, 3333, 3334, 154])
        #expect(observation.nodes.map(\.sessions) == [3353, 3353, 3354, 174])
        #expect(observation.nodes.allSatisfy { $0.connections == nil })
        #expect(observation.nodes.allSatisfy { $0.observedAt == Date(timeIntervalSince1970: 1795621027.659) })

        let error = await #expect(throws: PrometheusResponseError.self) {
            let bad = FakePrometheus(answers: [
                "emqx_": String(decoding: try Fixtures.data("prometheus/query-error-bad-expr.json"), as: UTF8.self)
            ])
            try await withLoopbackServer(bad.router) { port in
                try await Self.source(port: port).observe(
                    ObservationRequest(cluster: Self.cluster, expectedNodes: Self.nodes)
                )
            }
        }
        #expect(String(describing: error).contains("bad_data"))
    }
}
