import AutorebalancerCore
import Foundation
import Hummingbird
import NIOCore
import Synchronization
import TestSupport
import Testing

@testable import Observe

/// One query per quantity per cycle for every cluster sharing a Prometheus and its templates, split back per cluster.
struct PrometheusBatchTests {
    static let clusters = ["emqx-a", "emqx-b", "emqx.c"].map { ClusterReference(namespace: "default", name: $0) }
    static let silent = ClusterReference(namespace: "other", name: "emqx-d")

    static func nodes(_ cluster: ClusterReference) -> [ExpectedNode] {
        (0..<2).map {
            ExpectedNode(
                name: "emqx@\(cluster.name)-\($0).\(cluster.name)-headless.\(cluster.namespace).svc.cluster.local"
            )
        }
    }

    /// Every node of the three clusters, grouped by node, namespace and cluster, as Prometheus answers the batch.
    static var batchAnswer: String {
        PromBodies.vector(
            clusters.flatMap { cluster in
                nodes(cluster).enumerated().map { index, node in
                    (
                        labels: ["node": node.name, "namespace": cluster.namespace, "cluster": cluster.name],
                        value: String(1000 * (index + 1))
                    )
                }
            }
        )
    }

    static func batch(
        port: Int,
        _ change: (inout PrometheusSource.Configuration) -> Void = { _ in }
    ) throws -> PrometheusSource {
        var source = try PrometheusSourceTests.source(port: port, change)
        source.batch = try #require(PrometheusBatch(source: source))
        return source
    }

    @Test func oneQueryPerQuantityServesEveryClusterOfTheRound() async throws {
        let fake = FakePrometheus(answers: [
            "emqx_live_connections_count": Self.batchAnswer,
            "emqx_connections_count": Self.batchAnswer,
            "emqx_sessions_count": Self.batchAnswer,
        ])
        let observations = try await withLoopbackServer(fake.router) { port in
            let source = try Self.batch(port: port)
            let members = Self.clusters + [Self.silent]
            source.batch?.begin(members)
            return try await withThrowingTaskGroup(of: (ClusterReference, SourceObservation).self) { group in
                for cluster in members {
                    group.addTask {
                        (
                            cluster,
                            try await source.observe(
                                ObservationRequest(cluster: cluster, expectedNodes: Self.nodes(cluster))
                            )
                        )
                    }
                }
                var all: [ClusterReference: SourceObservation] = [:]
                for try await (cluster, observation) in group { all[cluster] = observation }
                return all
            }
        }
        let queries = fake.queries.withLock { $0 }
        #expect(queries.count == 3, "one query per quantity for the four clusters: \(queries)")
        let live = try #require(queries.first { $0.contains("emqx_live_connections_count") })
        #expect(live.contains(#"by (node, namespace, cluster)"#))
        #expect(live.contains(#"namespace=~"default|other""#))
        #expect(live.contains(#"cluster=~"emqx-a|emqx-b|emqx-d|emqx\\.c""#), "names are regex-escaped: \(live)")
        for cluster in Self.clusters {
            let observation = try #require(observations[cluster])
            #expect(observation.nodes.map(\.name) == Self.nodes(cluster).map(\.name))
            #expect(observation.nodes.map(\.liveConnections) == [1000, 2000])
            #expect(observation.nodes.map(\.sessions) == [1000, 2000])
            #expect(observation.warnings.isEmpty, "\(observation.warnings)")
        }
        // A cluster without series hears what it would have heard alone, naming the query sent.
        let silent = try #require(observations[Self.silent])
        #expect(silent.nodes.isEmpty)
        #expect(
            silent.warnings.contains {
                $0.contains("the live connections query matched no series") && $0.contains("cluster=~")
            }
        )
    }

    @Test func aClusterOutsideTheRoundAsksAlone() async throws {
        let fake = FakePrometheus(answers: ["emqx_live_connections_count": Self.batchAnswer])
        _ = try await withLoopbackServer(fake.router) { port in
            let source = try Self.batch(port: port) {
                $0.queries = PrometheusQueries(
                    liveConnections: PrometheusQueries.emqxDefault.liveConnections,
                    connections: nil,
                    sessions: nil
                )
            }
            source.batch?.begin([Self.clusters[0]])
            _ = try await source.observe(
                ObservationRequest(cluster: Self.clusters[1], expectedNodes: Self.nodes(Self.clusters[1]))
            )
        }
        let queries = fake.queries.withLock { $0 }
        #expect(queries == [#"max by (node) (emqx_live_connections_count{namespace="default", cluster="emqx-b"})"#])
    }

    @Test func aFailedBatchFailsEachClustersSourceSoEachFallsBack() async throws {
        let error = #"{"status":"error","errorType":"execution","error":"query timed out"}"#
        let fake = FakePrometheus(answers: ["emqx_": error])
        try await withLoopbackServer(fake.router) { port in
            let source = try Self.batch(port: port)
            source.batch?.begin(Self.clusters)
            for cluster in Self.clusters {
                await #expect(throws: (any Error).self) {
                    try await source.observe(ObservationRequest(cluster: cluster, expectedNodes: Self.nodes(cluster)))
                }
            }
        }
        #expect(fake.queries.withLock { $0.count } == 3, "the failure is not asked again by every cluster")
    }

    /// Holds the first `held` requests unanswered (until the server stops), answers the others with the batch.
    final class HoldingPrometheus: Sendable {
        let held: Int
        let count = Mutex(0)
        init(held: Int) { self.held = held }

        var router: Router<BasicRequestContext> {
            let router = Router()
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in
                let index = self.count.withLock { count -> Int in
                    defer { count += 1 }
                    return count
                }
                if index < self.held { await waitUntilServerShutdown() }
                return Response(
                    status: .ok,
                    headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: PrometheusBatchTests.batchAnswer))
                )
            }
            router.get("/api/v1/query", use: handler)
            router.post("/api/v1/query", use: handler)
            return router
        }
    }

    @Test func whenTheClusterFetchingIsCutShortTheNextOneFetches() async throws {
        let fake = HoldingPrometheus(held: 3)
        let observation = try await withLoopbackServer(fake.router) { port in
            let source = try Self.batch(port: port)
            source.batch?.begin(Self.clusters)
            let first = Task {
                try await source.observe(
                    ObservationRequest(cluster: Self.clusters[0], expectedNodes: Self.nodes(Self.clusters[0]))
                )
            }
            while fake.count.withLock({ $0 }) < 3 { try await Task.sleep(for: .milliseconds(5)) }
            // The second waits for the first's answer (or, if it comes later, finds the fetch free and makes it).
            async let second = source.observe(
                ObservationRequest(cluster: Self.clusters[1], expectedNodes: Self.nodes(Self.clusters[1]))
            )
            try await Task.sleep(for: .milliseconds(50))
            first.cancel()
            _ = try? await first.value
            return try await second
        }
        #expect(
            observation.nodes.map(\.liveConnections) == [1000, 2000],
            "the waiting cluster got its answer after the first gave up"
        )
        #expect(fake.count.withLock { $0 } == 6, "the second fetched once more, for everyone")
    }

    @Test(arguments: [
        #"namespace="{{namespace}}", cluster=~"{{name}}""#,  // a templated regex cannot be widened
        #"cluster="{{name}}", weird"#,  // not a matcher list
        #"job="emqx""#,  // nothing to tell clusters apart by
    ])
    func selectorsThatCannotBeBatchedAreAskedPerCluster(selector: String) throws {
        let source = try PrometheusSourceTests.source(port: 9) { $0.selector = PrometheusSelector(template: selector) }
        #expect(PrometheusBatch(source: source) == nil)
    }

    @Test func queriesThatUseTheNodeLabelElsewhereAreAskedPerCluster() throws {
        let source = try PrometheusSourceTests.source(port: 9) {
            $0.queries.liveConnections =
                #"label_replace(emqx_live_connections_count{{{selector}}}, "{{label}}", "$1", "instance", "(.*)")"#
        }
        #expect(PrometheusBatch(source: source) == nil)
    }

    /// The batched query, run by Prometheus's own engine (`promtool test rules`) on series of look-alike clusters.
    @Test(
        .enabled(
            if: PrometheusBatchTests.promtool != nil,
            "promtool not found: set PROMTOOL or install Debian's prometheus package (scripts/test does)"
        )
    )
    func prometheusItselfSplitsTheBatchedQueryByCluster() throws {
        let source = try PrometheusSourceTests.source(port: 9)
        let batch = try #require(PrometheusBatch(source: source))
        let query = try #require(
            batch.renderedQueries([
                ClusterReference(namespace: "default", name: "emqx.a"), ClusterReference(namespace: "prod", name: "b"),
            ]).live
        )
        let test = """
            tests:
              - interval: 1m
                input_series:
                  - series: 'emqx_live_connections_count{namespace="default", cluster="emqx.a", node="n1", instance="i1"}'
                    values: '3000x5'
                  - series: 'emqx_live_connections_count{namespace="default", cluster="emqx.a", node="n1", instance="i2"}'
                    values: '2999x5'
                  - series: 'emqx_live_connections_count{namespace="prod", cluster="b", node="n2"}'
                    values: '10x5'
                  - series: 'emqx_live_connections_count{namespace="default", cluster="emqxXa", node="n3"}'
                    values: '1x5'
                  - series: 'emqx_live_connections_count{namespace="prod", cluster="emqx.a", node="n4"}'
                    values: '7x5'
                promql_expr_test:
                  - expr: '\(query.replacingOccurrences(of: "'", with: "''"))'
                    eval_time: 2m
                    exp_samples:
                      - labels: '{node="n1", namespace="default", cluster="emqx.a"}'
                        value: 3000
                      - labels: '{node="n2", namespace="prod", cluster="b"}'
                        value: 10
                      - labels: '{node="n4", namespace="prod", cluster="emqx.a"}'
                        value: 7
            """
        // The two series of n1 (two scrape jobs) are one; the dot is escaped, so emqxXa is not matched. n4
        // (prod/emqx.a) matches each regex without being a watched cluster: the split by label values drops it
        // (next test).
        let result = try Self.runPromtool(test)
        #expect(result.status == 0, "promtool: \(result.output)")
    }

    @Test func seriesOfLabelCombinationsNoClusterHasAreDropped() async throws {
        let answer = PromBodies.vector([
            (labels: ["node": "emqx@x-0", "namespace": "prod", "cluster": "emqx-a"], value: "5"),
            (
                labels: ["node": Self.nodes(Self.clusters[0])[0].name, "namespace": "default", "cluster": "emqx-a"],
                value: "9"
            ),
        ])
        let fake = FakePrometheus(answers: ["emqx_": answer])
        let observation = try await withLoopbackServer(fake.router) { port in
            let source = try Self.batch(port: port)
            source.batch?.begin([Self.clusters[0], ClusterReference(namespace: "prod", name: "other")])
            return try await source.observe(
                ObservationRequest(cluster: Self.clusters[0], expectedNodes: Self.nodes(Self.clusters[0]))
            )
        }
        #expect(observation.nodes.map(\.name) == [Self.nodes(Self.clusters[0])[0].name])
        #expect(
            !observation.warnings.contains { $0.contains("emqx@x-0") },
            "a prod/emqx-a series is not default/emqx-a's"
        )
    }

    static let promtool: String? = {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/promtool"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    static func runPromtool(_ test: String) throws -> (status: Int32, output: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("batch.test.yaml")
        try test.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool!)
        process.arguments = ["test", "rules", file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
