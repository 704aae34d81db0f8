import Foundation
import Hummingbird
import Logging
import NIOCore
import Report
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

struct AlertmanagerNotifierTests {
    /// Waits for each post through a stream, never by polling against wall time; the time limit only ends a test
    /// that would otherwise hang on a broken notifier.
    @Test(.timeLimit(.minutes(1))) func postsDueAlertsWithoutBlockingTheCaller() async throws {
        let bodies = Mutex<[String]>([])
        let (posts, postArrived) = AsyncStream.makeStream(of: Void.self)
        let router = Router()
        router.post("/api/v2/alerts") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            bodies.withLock { $0.append(String(buffer: body)) }
            postArrived.yield()
            return Response(status: .ok)
        }
        let logger = {
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            return logger
        }()
        try await withLoopbackServer(router) { port in
            let client = AlertmanagerClient(
                targets: [AlertmanagerTarget(name: "am", url: "http://127.0.0.1:\(port)")],
                httpClient: .shared
            )
            let notifier = AlertmanagerNotifier(
                client: client,
                keeper: .init(resendInterval: .seconds(60), evaluationInterval: .seconds(15)),
                logger: logger
            )
            let group = ServiceGroup(configuration: .init(services: [notifier], logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let t0 = Date().addingTimeInterval(-60)
                let alert = AgentAlert.sourceDown(cluster: "ns/c", source: "emqx", error: "refused", since: t0)
                notifier.submit([alert], at: t0)
                var iterator = posts.makeAsyncIterator()
                _ = await iterator.next()
                // Within the resend interval nothing new is due; after resolving, the resolution is posted. (The
                // notifier keeps only the newest set, so the first of these two may be superseded; either way the
                // next post is the resolution, and nothing else is posted before the stream ends.)
                notifier.submit([alert], at: t0.addingTimeInterval(15))
                notifier.submit([], at: t0.addingTimeInterval(30))
                _ = await iterator.next()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        let posted = bodies.withLock { $0 }
        #expect(posted.count == 2)
        let decoded = try posted.map { try JSONDecoder().decode([PostableAlert].self, from: Data($0.utf8)) }
        #expect(decoded.map(\.count) == [1, 1])
        #expect(decoded[0][0].labels["alertname"] == "EMQXAutorebalancerSourceDown")
        #expect(decoded[0][0].endsAt > decoded[0][0].startsAt)
        #expect(decoded[1][0].endsAt <= Date())
    }
}
