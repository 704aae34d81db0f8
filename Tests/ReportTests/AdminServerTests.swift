import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Report
import ServiceLifecycle
import Synchronization
import Testing

struct AdminServerTests {
    struct Fetched {
        var status: Int
        var contentType: String?
        var body: String
    }

    static func get(_ url: String) async throws -> Fetched {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Fetched(
            status: Int(response.status.code),
            contentType: response.headers.first(name: "Content-Type"),
            body: String(buffer: body)
        )
    }

    @Test func servesMetricsHealthAndReadiness() async throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1000))
        let health = AgentHealth(maximumHeartbeatAge: .seconds(60), now: { clock.withLock { $0 } })
        let metrics = AgentMetrics(version: "9.9.9")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = AdminServer(host: "127.0.0.1", port: 0, metrics: metrics, health: health, logger: logger) { port in
            portContinuation.yield(port)
        }
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let base = "http://127.0.0.1:\(port)"

            let scraped = try await Self.get(base + "/metrics")
            #expect(scraped.status == 200)
            #expect(scraped.contentType == "text/plain; version=0.0.4; charset=utf-8")
            #expect(scraped.body.contains(#"emqx_autorebalancer_build_info{version="9.9.9"} 1"#))

            #expect(try await Self.get(base + "/healthz").status == 200)
            clock.withLock { $0 = $0.addingTimeInterval(61) }
            let stuck = try await Self.get(base + "/healthz")
            #expect(stuck.status == 503)
            #expect(stuck.body.contains("last heartbeat 61s ago"))
            health.heartbeat()
            #expect(try await Self.get(base + "/healthz").status == 200)

            let notReady = try await Self.get(base + "/readyz")
            #expect(notReady.status == 503)
            #expect(notReady.body.contains("configuration not loaded"))
            #expect(notReady.body.contains("no evaluation cycle has completed yet"))
            health.setConfigLoaded(true)
            // A cycle that observed no cluster is not ready, and says why.
            health.recordCycle(
                .init(
                    clusters: 1,
                    snapshots: 0,
                    problems: ["every metric source of default/emqx-ee failed: status: timed out"]
                )
            )
            let noSnapshot = try await Self.get(base + "/readyz")
            #expect(noSnapshot.status == 503)
            #expect(
                noSnapshot.body.contains(
                    "the last evaluation cycle produced no snapshot: every metric source of default/emqx-ee failed"
                )
            )
            // Ready once a cycle produced a snapshot, whichever source of the fallback list supplied it.
            health.recordCycle(
                .init(
                    clusters: 2,
                    snapshots: 1,
                    problems: ["every metric source of default/other failed: prometheus: refused"]
                )
            )
            #expect(try await Self.get(base + "/readyz").status == 200)
            #expect(try await Self.get(base + "/nothing").status == 404)

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
