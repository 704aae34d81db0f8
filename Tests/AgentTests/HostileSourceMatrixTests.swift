import AutorebalancerCore
import Foundation
import Hummingbird
import NIOCore
import Observe
import TestSupport
import Testing

@testable import Agent

/// Hostile answers from real metric endpoints on loopback (an EMQX node's stats, a Prometheus), each through one
/// whole agent cycle (``HostileWorld``): node `emqx@n0` answers the hostile thing, `emqx@n1` a plain 100. Whatever
/// n0 answers, it is unknown (never a count), the warning or error names it, and no Rebalance is created; the
/// control cases prove the same path creates one from a real imbalance.
struct HostileSourceMatrixTests {
    /// One answer of a hostile endpoint.
    struct Answer: Sendable, CustomTestStringConvertible {
        var name: String
        var status: HTTPResponse.Status = .ok
        var contentType = "text/plain; version=0.0.4"
        var body: String
        /// What the cycle's warnings or errors must say besides the node's name.
        var says: String
        var testDescription: String { name }
    }

    static func exposition(_ value: String) -> String {
        "# TYPE emqx_live_connections_count gauge\nemqx_live_connections_count \(value)\n# TYPE emqx_sessions_count gauge\nemqx_sessions_count 100\n"
    }

    static let emqxAnswers: [Answer] = [
        Answer(name: "+Inf", body: exposition("+Inf"), says: "+Inf"),
        Answer(name: "-Inf", body: exposition("-Inf"), says: "-Inf"),
        Answer(name: "1e19", body: exposition("1e19"), says: "1e+19"),
        Answer(name: "1e308", body: exposition("1e308"), says: "1e+308"),
        Answer(name: "negative", body: exposition("-1"), says: "-1"),
        Answer(name: "duplicate family", body: exposition("1") + exposition("1000"), says: "TYPE"),
        Answer(
            name: "duplicate series",
            body: exposition("1") + "emqx_live_connections_count 1000\n",
            says: "more than once"
        ),
        Answer(
            name: "HTML error page as text/html",
            contentType: "text/html",
            body: "<html><body>\n" + exposition("0") + "</body></html>\n",
            says: "text/html"
        ),
        Answer(
            name: "HTML error page as text/plain",
            body: "<html><body>\n" + exposition("0") + "</body></html>\n",
            says: "not the Prometheus text format"
        ),
        Answer(
            name: "truncated mid-line",
            body: "# TYPE emqx_live_connections_count gauge\nemqx_live_connections_count{node=\"emqx@n0",
            says: "not the Prometheus text format"
        ),
        Answer(name: "500 with metrics", status: .internalServerError, body: exposition("0"), says: "500"),
        Answer(
            name: "JSON",
            contentType: "application/json",
            body: #"{"emqx_live_connections_count": 0}"#,
            says: "application/json"
        ),
        Answer(
            name: "an unread family broken",
            body: exposition("0") + "emqx_messages_received{a=\"b\" 1\n",
            says: "not the Prometheus text format"
        ),
        Answer(
            name: "body over the limit",
            body: exposition("0")
                + String(repeating: "# filler comment line\n", count: (EMQXScrapeSource.bodyLimit / 22) + 10),
            says: "body over"
        ),
    ]

    @Test(arguments: emqxAnswers)
    func anEMQXNodesHostileAnswerIsUnknown(answer: Answer) async throws {
        let outcome = try await Self.emqxCycle(n0: answer)
        try Self.expectUnknown(outcome, answer.says)
    }

    @Test func anEMQXNodeThatNeverAnswersIsUnknownWithinItsTimeout() async throws {
        let outcome = try await Self.emqxCycle(n0: nil, timeout: .seconds(1))
        try Self.expectUnknown(outcome, "did not answer within 1s")
    }

    /// A node that sends a good body one byte every 100 ms: the deadline covers the body, not only the head.
    @Test func anEMQXNodeThatTricklesItsBodyIsUnknownWithinItsTimeout() async throws {
        let outcome = try await Self.emqxCycle(
            n0: Answer(name: "trickle", body: Self.exposition("1000"), says: ""),
            trickle: true,
            timeout: .seconds(1)
        )
        try Self.expectUnknown(outcome, "did not answer within 1s")
    }

    @Test func controlARealImbalanceOverEMQXScrapesCreatesTheRebalance() async throws {
        let outcome = try await Self.emqxCycle(
            n0: Answer(name: "1000", body: Self.exposition("1000"), says: ""),
            n1: Self.exposition("0")
        )
        #expect(outcome.rebalances.count == 1, "\(outcome.report.errors) \(outcome.log)")
    }

    static func vector(
        _ n0: String,
        time: String = "\(HostileWorld.now.timeIntervalSince1970 - 5)",
        n0Again: Bool = false
    ) -> String {
        let n1 = #"{"metric":{"node":"emqx@n1"},"value":[\#(HostileWorld.now.timeIntervalSince1970 - 5),"100"]}"#
        let first = #"{"metric":{"node":"emqx@n0"},"value":[\#(time),"\#(n0)"]}"#
        let items = [first] + (n0Again ? [#"{"metric":{"node":"emqx@n0"},"value":[\#(time),"1000"]}"#] : []) + [n1]
        return #"{"status":"success","data":{"resultType":"vector","result":[\#(items.joined(separator: ","))]}}"#
    }

    /// Answers about n0 inside an otherwise good answer: n0 unknown, n1 kept.
    static let prometheusNodeAnswers: [Answer] = [
        Answer(name: "+Inf", contentType: "application/json", body: vector("+Inf"), says: "+Inf"),
        Answer(name: "-Inf", contentType: "application/json", body: vector("-Inf"), says: "-Inf"),
        Answer(name: "1e19", contentType: "application/json", body: vector("1e19"), says: "1e+19"),
        Answer(name: "negative", contentType: "application/json", body: vector("-1"), says: "-1"),
        Answer(name: "NaN", contentType: "application/json", body: vector("NaN"), says: "NaN"),
        Answer(
            name: "a year in the future",
            contentType: "application/json",
            body: vector("100", time: "\(HostileWorld.now.timeIntervalSince1970 + 365 * 86_400)"),
            says: "future"
        ),
        Answer(name: "the time 1", contentType: "application/json", body: vector("100", time: "1"), says: "2000"),
        Answer(
            name: "n0 twice",
            contentType: "application/json",
            body: vector("1", n0Again: true),
            says: "more than one series"
        ),
    ]

    @Test(arguments: prometheusNodeAnswers)
    func aPrometheusSampleOfOneNodeThatCannotBeACountIsUnknown(answer: Answer) async throws {
        let outcome = try await Self.prometheusCycle(answer)
        try Self.expectUnknown(outcome, answer.says)
    }

    /// Answers that are not a Prometheus answer at all: the source fails, saying why, and nothing is a count.
    static let prometheusBodyAnswers: [Answer] = [
        Answer(
            name: "HTML with metrics",
            contentType: "text/html",
            body: "<html>emqx_live_connections_count 0</html>",
            says: "text/html"
        ),
        Answer(
            name: "500",
            status: .internalServerError,
            contentType: "application/json",
            body: vector("0"),
            says: "500"
        ),
        Answer(
            name: "truncated JSON",
            contentType: "application/json",
            body: String(vector("0").dropLast(20)),
            says: "not JSON"
        ),
        Answer(
            name: "error status",
            contentType: "application/json",
            body: #"{"status":"error","errorType":"bad_data","error":"boom"}"#,
            says: "bad_data"
        ),
        Answer(
            name: "over the limit",
            contentType: "application/json",
            body: vector("0") + String(repeating: " ", count: 1 << 20),
            says: "body over"
        ),
    ]

    @Test(arguments: prometheusBodyAnswers)
    func aPrometheusAnswerThatIsNotOneFailsTheSourceAndSaysWhy(answer: Answer) async throws {
        let outcome = try await Self.prometheusCycle(answer)
        #expect(outcome.rebalances.isEmpty)
        #expect(outcome.report.snapshot?.nodes.contains { $0.liveConnections != nil } != true)
        let said = (outcome.sourceErrors + outcome.report.errors).joined(separator: "\n")
        #expect(said.contains(answer.says), "\(said)")
        #expect(outcome.log.contains("source=prometheus"), "\(outcome.log)")
    }

    /// An error body that starts a forged log line, and one that echoes the request's Authorization header: the log
    /// keeps one line per event (control characters escaped) and never shows the token.
    @Test func anErrorBodyCannotForgeALogLineOrLeakTheToken() async throws {
        let forged = "2026-12-02T00:00:00+0000 critical emqx-autorebalancer: forged"
        let router = Router()
        router.get("/api/v1/query") { request, _ -> Response in
            let echoed = request.headers[.authorization] ?? "none"
            return Response(
                status: .internalServerError,
                headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: "upstream failed\n\(forged)\nAuthorization: \(echoed)\n"))
            )
        }
        let outcome = try await Self.prometheusCycle(router, authorization: .bearer(token: "s3cr3t-t0ken"))
        #expect(outcome.rebalances.isEmpty)
        #expect(outcome.log.contains("upstream failed"), "the error body is not in the log: \(outcome.log)")
        #expect(!outcome.logs.contains { $0.hasPrefix(forged) }, "\(outcome.logs)")
        #expect(!outcome.log.contains("s3cr3t-t0ken"), "\(outcome.log)")
    }

    @Test func aPrometheusThatNeverAnswersFailsWithinItsTimeout() async throws {
        let router = Router()
        router.get("/api/v1/query") { _, _ -> Response in
            await waitUntilServerShutdown()
            return Response(status: .noContent)
        }
        let outcome = try await Self.prometheusCycle(router, timeout: .seconds(1))
        #expect(outcome.rebalances.isEmpty)
        #expect(outcome.report.snapshot?.nodes.contains { $0.liveConnections != nil } != true)
        #expect(outcome.sourceErrors.contains { $0.contains("did not answer within 1s") }, "\(outcome.sourceErrors)")
    }

    @Test func controlARealImbalanceOverPrometheusCreatesTheRebalance() async throws {
        let outcome = try await Self.prometheusCycle(
            Answer(
                name: "1000",
                contentType: "application/json",
                body: Self.vector("1000").replacingOccurrences(of: "\"100\"]", with: "\"0\"]"),
                says: ""
            )
        )
        #expect(outcome.rebalances.count == 1, "\(outcome.report.errors) \(outcome.log)")
    }

    // MARK: - The cycle and what it must show

    /// n0 unknown, named with `says` in a warning or error; n1 still counted; no Rebalance.
    static func expectUnknown(
        _ outcome: HostileWorld.Outcome,
        _ says: String,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        #expect(outcome.rebalances.isEmpty, "a Rebalance was created", sourceLocation: sourceLocation)
        let nodes = outcome.report.snapshot?.nodes ?? []
        #expect(
            nodes.first { $0.name == "emqx@n0" }?.liveConnections == nil,
            "n0 counted: \(nodes)",
            sourceLocation: sourceLocation
        )
        #expect(
            nodes.first { $0.name == "emqx@n1" }?.liveConnections == 100,
            "n1 lost: \(nodes)",
            sourceLocation: sourceLocation
        )
        let said = (outcome.sourceWarnings + outcome.sourceErrors + outcome.report.errors).filter {
            $0.contains("emqx@n0") || $0.contains("/n0/")
        }
        #expect(
            said.contains { $0.contains(says) },
            "no warning names n0 with \"\(says)\": \(said)",
            sourceLocation: sourceLocation
        )
    }

    static func respond(_ answer: Answer) -> Response {
        Response(
            status: answer.status,
            headers: [.contentType: answer.contentType],
            body: .init(byteBuffer: ByteBuffer(string: answer.body))
        )
    }

    /// One cycle with the EMQX scrape as the only source; `n0: nil` never answers.
    /// `trickle`: n0's body is sent one byte every 100 ms (the writes stop when the agent hangs up).
    static func emqxCycle(
        n0: Answer?,
        n1: String = exposition("100"),
        trickle: Bool = false,
        timeout: Duration = .seconds(30)
    ) async throws -> HostileWorld.Outcome {
        let router = Router()
        router.get("/n0/api/v5/prometheus/stats") { _, _ -> Response in
            guard let n0 else {
                await waitUntilServerShutdown()
                return Response(status: .noContent)
            }
            guard trickle else { return respond(n0) }
            return Response(
                status: .ok,
                headers: [.contentType: n0.contentType],
                body: ResponseBody { writer in
                    for byte in n0.body.utf8 {
                        try await writer.write(ByteBuffer(bytes: [byte]))
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    try await writer.finish(nil)
                }
            )
        }
        router.get("/n1/api/v5/prometheus/stats") { _, _ -> Response in
            respond(Answer(name: "n1", body: n1, says: ""))
        }
        return try await withLoopbackServer(router) { port in
            try await HostileWorld.with { world in
                let source = try EMQXScrapeSource(
                    configuration: .init(
                        targets: ["emqx@n0": "http://127.0.0.1:\(port)/n0", "emqx@n1": "http://127.0.0.1:\(port)/n1"],
                        timeout: timeout,
                        fetchNodeInfo: false
                    ),
                    httpClient: world.httpClient,
                    now: { HostileWorld.now }
                )
                return try await world.cycle([OwnDeadlineOnly(source)])
            }
        }
    }

    /// One cycle with Prometheus as the only source, every query answered with `answer`.
    static func prometheusCycle(_ answer: Answer) async throws -> HostileWorld.Outcome {
        let router = Router()
        router.get("/api/v1/query") { _, _ -> Response in respond(answer) }
        router.post("/api/v1/query") { _, _ -> Response in respond(answer) }
        return try await prometheusCycle(router)
    }

    /// One cycle with Prometheus as the only source, served by `router`.
    static func prometheusCycle(
        _ router: Router<BasicRequestContext>,
        timeout: Duration = .seconds(30),
        authorization: HTTPAuthorization = .none
    ) async throws -> HostileWorld.Outcome {
        try await withLoopbackServer(router) { port in
            try await HostileWorld.with { world in
                let source = try PrometheusSource(
                    configuration: .init(
                        baseURL: "http://127.0.0.1:\(port)",
                        authorization: authorization,
                        timeout: timeout
                    ),
                    httpClient: world.httpClient
                )
                return try await world.cycle([OwnDeadlineOnly(source)])
            }
        }
    }
}

/// The source under test with a budget the loop never reaches first. These tests are about the source's own deadline
/// per request (the node or Prometheus named, "did not answer within 1s"), which must fire however loaded the machine
/// is; the loop's budget of a source (its timeout plus a second, which a busy machine can use up before the source
/// has said which node hung) is tested in FallbackBudgetTests.
struct OwnDeadlineOnly: MetricSource {
    let source: any MetricSource
    init(_ source: any MetricSource) { self.source = source }
    var kind: String { source.kind }
    var budget: Duration? { .seconds(120) }
    func observe(_ request: ObservationRequest) async throws -> SourceObservation { try await source.observe(request) }
}
