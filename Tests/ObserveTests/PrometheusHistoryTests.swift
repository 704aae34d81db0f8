import AutorebalancerCore
import Foundation
import Hummingbird
import NIOCore
import Observe
import Synchronization
import TestSupport
import Testing

/// A Prometheus answering `/api/v1/query_range` as the real one does: a point every `step` from `start` to `end` for
/// each node (the value is the point's time less `valueBase`, a plausible count), and a 400 for more than 11,000 points per series.
final class RangePrometheus: Sendable {
    static let valueBase = 1_799_000_000.0
    /// The nodes whose series a query naming the key returns (no key matched: no series).
    let nodes: [String: [String]]
    /// Answers every query as Prometheus answers one it cannot parse.
    let refuses: Bool
    /// Every range asked for: start, end, step, and the query.
    let requests = Mutex<[(start: Double, end: Double, step: Double, query: String)]>([])

    init(nodes: [String: [String]], refuses: Bool = false) {
        self.nodes = nodes
        self.refuses = refuses
    }

    var router: Router<BasicRequestContext> {
        let router = Router()
        router.get("/api/v1/query_range") { request, _ -> Response in
            let parameters = request.uri.queryParameters
            let query = parameters.get("query") ?? ""
            guard let start = parameters.get("start").flatMap(Double.init),
                let end = parameters.get("end").flatMap(Double.init),
                let step = parameters.get("step").flatMap(Double.init), step > 0, start <= end
            else { return Self.answer(.badRequest, #"{"status":"error","errorType":"bad_data","error":"bad range"}"#) }
            self.requests.withLock { $0.append((start, end, step, query)) }
            if self.refuses {
                return Self.answer(
                    .badRequest,
                    #"{"status":"error","errorType":"bad_data","error":"1:1: parse error: unexpected character"}"#
                )
            }
            let points = Int(((end - start) / step).rounded(.down)) + 1
            guard points <= 11_000 else {
                return Self.answer(
                    .badRequest,
                    #"{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}"#
                )
            }
            let names = self.nodes.first { query.contains($0.key) }?.value ?? []
            let values = (0..<points).map { i in
                "[\(start + Double(i) * step),\"\(start + Double(i) * step - Self.valueBase)\"]"
            }.joined(separator: ",")
            let result = names.map { #"{"metric":{"node":"\#($0)"},"values":[\#(values)]}"# }.joined(separator: ",")
            return Self.answer(.ok, #"{"status":"success","data":{"resultType":"matrix","result":[\#(result)]}}"#)
        }
        return router
    }

    static func answer(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }
}

struct PrometheusHistoryTests {
    static let cluster = ClusterReference(namespace: "emqx", name: "emqx-ee")
    static let nodes = ["emqx@a", "emqx@b"]

    static func source(port: Int) throws -> PrometheusSource {
        try PrometheusSource(
            configuration: .init(baseURL: "http://127.0.0.1:\(port)", timeout: .seconds(30)),
            httpClient: .shared
        )
    }

    /// 25,001 points at 1 s: more than Prometheus answers in one query, so three consecutive queries of at most
    /// 10,000 points, joined into one series per node with every point once, in order.
    @Test func aLongRangeIsFetchedInChunksPrometheusAccepts() async throws {
        let prometheus = RangePrometheus(nodes: ["emqx_live_connections_count": Self.nodes])
        let range = BacktestRange(
            start: Date(timeIntervalSince1970: 1_800_000_000),
            end: Date(timeIntervalSince1970: 1_800_025_000),
            step: 1
        )
        let matrix = try await withLoopbackServer(prometheus.router) { port in
            try await Self.source(port: port).queryRange(query: "emqx_live_connections_count", over: range)
        }
        let requests = prometheus.requests.withLock { $0 }
        #expect(requests.count == 3)
        #expect(requests.map(\.start) == [1_800_000_000, 1_800_010_000, 1_800_020_000])
        #expect(requests.map(\.end) == [1_800_009_999, 1_800_019_999, 1_800_025_000])
        #expect(matrix.map { $0.labels["node"] } == Self.nodes)
        let expected = (0...25_000).map { 1_800_000_000 + Double($0) - RangePrometheus.valueBase }
        for series in matrix {
            #expect(series.samples.map(\.value) == expected)
        }
    }

    /// A series that only the second chunk has is kept, after the ones seen first.
    @Test func seriesAreJoinedInTheOrderTheyFirstAppear() async throws {
        let prometheus = RangePrometheus(nodes: ["up": ["emqx@b"]])
        let range = BacktestRange(
            start: Date(timeIntervalSince1970: 1_800_000_000),
            end: Date(timeIntervalSince1970: 1_800_000_009),
            step: 1
        )
        let matrix = try await withLoopbackServer(prometheus.router) { port in
            try await Self.source(port: port).queryRange(query: "up", over: range, pointsPerQuery: 4)
        }
        #expect(prometheus.requests.withLock { $0.map(\.start) } == [1_800_000_000, 1_800_000_004, 1_800_000_008])
        #expect(matrix.count == 1)
        #expect(matrix.first?.samples.count == 10)
    }

    /// The cluster's live-connections and sessions queries, with its selector; a sessions query that matches nothing
    /// is a warning and no sessions, not an error.
    @Test func historyReadsConnectionsAndSessionsPerNode() async throws {
        let prometheus = RangePrometheus(nodes: [
            "emqx_live_connections_count": Self.nodes, "emqx_sessions_count": Self.nodes,
        ])
        let range = BacktestRange(
            start: Date(timeIntervalSince1970: 1_800_000_000),
            end: Date(timeIntervalSince1970: 1_800_000_600),
            step: 60
        )
        let history = try await withLoopbackServer(prometheus.router) { port in
            try await Self.source(port: port).history(of: Self.cluster, over: range, nodeLabel: nil)
        }
        #expect(history.connections.map(\.node) == Self.nodes)
        #expect(history.sessions?.map(\.node) == Self.nodes)
        #expect(history.connections.first?.samples.count == 11)
        #expect(history.warnings.isEmpty)
        let queries = prometheus.requests.withLock { $0.map(\.query) }
        #expect(queries.count == 2)
        #expect(queries.allSatisfy { $0.contains(#"namespace="emqx""#) }, "\(queries)")

        let withoutSessions = RangePrometheus(nodes: ["emqx_live_connections_count": Self.nodes])
        let partial = try await withLoopbackServer(withoutSessions.router) { port in
            try await Self.source(port: port).history(of: Self.cluster, over: range, nodeLabel: nil)
        }
        #expect(partial.sessions == nil)
        #expect(partial.warnings.count == 1)
        #expect(partial.warnings.first?.contains("the sessions query matched nothing") == true)
    }

    /// A refused query names the server and the query it sent.
    @Test func aRefusedQueryNamesTheServerAndTheQuery() async throws {
        let prometheus = RangePrometheus(nodes: [:], refuses: true)
        let range = BacktestRange(
            start: Date(timeIntervalSince1970: 1_800_000_000),
            end: Date(timeIntervalSince1970: 1_800_000_600),
            step: 60
        )
        let (port, error) = try await withLoopbackServer(prometheus.router) { port in
            let error = await #expect(throws: BacktestInputError.self) {
                try await Self.source(port: port).history(of: Self.cluster, over: range, nodeLabel: nil)
            }
            return (port, error)
        }
        let text = error.map(String.init(describing:)) ?? ""
        #expect(
            text.hasPrefix("http://127.0.0.1:\(port) query_range max by (node) (emqx_live_connections_count{"),
            "\(text)"
        )
        #expect(text.contains("parse error"), "\(text)")
    }
}
