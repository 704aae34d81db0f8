import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Report
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

struct WebhookNotifierTests {
    struct Received: Sendable {
        var body: String
        var signature: String?
        var authorization: String?
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    static func record(_ rule: String) -> DecisionRecord {
        DecisionRecord(
            time: Date(timeIntervalSince1970: 1_800_000_000),
            cluster: "default/emqx-ee",
            rule: rule,
            trigger: .scaleOut,
            action: .rebalance
        )
    }

    /// Each test waits for what the receiver got through a stream, never by polling against wall time; the time
    /// limit only ends a test that would otherwise hang on a broken notifier.
    @Test(.timeLimit(.minutes(1))) func signsRetriesAndDelivers() async throws {
        let received = Mutex<[Received]>([])
        let (deliveries, delivered) = AsyncStream.makeStream(of: Void.self)
        let failuresLeft = Mutex(2)
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            // The first two attempts fail with 503: the notifier must retry.
            if failuresLeft.withLock({ left in
                defer { left -= 1 }
                return left > 0
            }) {
                return Response(status: .serviceUnavailable)
            }
            received.withLock {
                $0.append(
                    Received(
                        body: String(buffer: body),
                        signature: request.headers.first {
                            $0.name.rawName.lowercased() == "x-autorebalancer-signature"
                        }?.value,
                        authorization: request.headers[.authorization]
                    )
                )
            }
            delivered.yield()
            return Response(status: .noContent)
        }
        let metrics = AgentMetrics(version: "test")
        let clock = ManualClock()
        try await withLoopbackServer(router) { port in
            let notifier = WebhookNotifier(
                configuration: .init(
                    name: "hook",
                    url: "http://127.0.0.1:\(port)/hook",
                    bearerToken: "tok",
                    signingSecret: "key",
                    maxAttempts: 4,
                    initialBackoff: .seconds(10),
                    maximumBackoff: .seconds(15)
                ),
                httpClient: .shared,
                metrics: metrics,
                logger: Self.logger,
                clock: clock
            )
            let group = ServiceGroup(configuration: .init(services: [notifier], logger: Self.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                notifier.submit(.decision(Self.record("scale-out")))
                // Each failed attempt waits its backoff on the clock: 10 s, then 20 s capped at 15 s.
                await clock.advanceWhenSleeping(by: .seconds(10))
                await clock.sleepers(atLeast: 1)
                clock.advance(by: .seconds(14))
                #expect(clock.pendingSleeps == 1, "the second backoff is 15 s (doubled, capped), not over after 14 s")
                clock.advance(by: .seconds(1))
                var iterator = deliveries.makeAsyncIterator()
                _ = await iterator.next()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        let got = try #require(received.withLock { $0.first })
        #expect(got.authorization == "Bearer tok")
        #expect(got.signature == WebhookNotifier.signature(secret: "key", body: Array(got.body.utf8)))
        #expect(got.body.hasPrefix(#"{"decision":{"#))
        #expect(got.body.contains(#""type":"decision""#))
        #expect(got.body.contains(#""rule":"scale-out""#))
        let text = metrics.render()
        #expect(text.contains(#"emqx_autorebalancer_alerts_sent_total{receiver="hook",result="failure"} 2"#))
        #expect(text.contains(#"emqx_autorebalancer_alerts_sent_total{receiver="hook",result="success"} 1"#))
        #expect(clock.sleepLengths == [.seconds(10), .seconds(15)], "the backoff doubles and is capped")
    }

    @Test(.timeLimit(.minutes(1))) func fullQueueDropsTheOldest() async throws {
        let received = Mutex<[String]>([])
        let (deliveries, delivered) = AsyncStream.makeStream(of: Void.self)
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            received.withLock { $0.append(String(buffer: body)) }
            delivered.yield()
            return Response(status: .ok)
        }
        let metrics = AgentMetrics(version: "test")
        try await withLoopbackServer(router) { port in
            let notifier = WebhookNotifier(
                configuration: .init(name: "hook", url: "http://127.0.0.1:\(port)/hook", queueCapacity: 2),
                httpClient: .shared,
                metrics: metrics,
                logger: Self.logger
            )
            // Not running yet: the queue fills, submit never waits.
            #expect(notifier.submit(.decision(Self.record("r1"))))
            #expect(notifier.submit(.decision(Self.record("r2"))))
            #expect(!notifier.submit(.decision(Self.record("r3"))))
            let group = ServiceGroup(configuration: .init(services: [notifier], logger: Self.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var iterator = deliveries.makeAsyncIterator()
                _ = await iterator.next()
                _ = await iterator.next()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        let bodies = received.withLock { $0 }
        #expect(bodies.count == 2)
        #expect(bodies.first?.contains(#""rule":"r2""#) == true)
        #expect(bodies.last?.contains(#""rule":"r3""#) == true)
        #expect(metrics.render().contains(#"emqx_autorebalancer_notifications_dropped_total{receiver="hook"} 1"#))
    }

    /// A 400 is final. Proven without waiting to see that nothing more comes: the notifier delivers in order, so once
    /// the message queued after the rejected one has arrived, every attempt at the rejected one has been made; and a
    /// retry would first have slept on the manual clock, which never moves here.
    @Test(.timeLimit(.minutes(1))) func clientErrorsAreNotRetried() async throws {
        let attempts = Mutex<[String: Int]>([:])
        let (deliveries, delivered) = AsyncStream.makeStream(of: Void.self)
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            let rule = body.contains(#""rule":"bad""#) ? "bad" : "good"
            attempts.withLock { $0[rule, default: 0] += 1 }
            if rule == "good" { delivered.yield() }
            return Response(status: rule == "bad" ? .badRequest : .ok)
        }
        let clock = ManualClock()
        try await withLoopbackServer(router) { port in
            let notifier = WebhookNotifier(
                configuration: .init(
                    name: "hook",
                    url: "http://127.0.0.1:\(port)/hook",
                    maxAttempts: 5,
                    initialBackoff: .seconds(5)
                ),
                httpClient: .shared,
                metrics: nil,
                logger: Self.logger,
                clock: clock
            )
            let group = ServiceGroup(configuration: .init(services: [notifier], logger: Self.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                notifier.submit(.decision(Self.record("bad")))
                notifier.submit(.decision(Self.record("good")))
                var iterator = deliveries.makeAsyncIterator()
                _ = await iterator.next()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        #expect(attempts.withLock { $0 } == ["bad": 1, "good": 1])
        #expect(clock.sleepsStarted == 0, "a rejected message is never retried, so no backoff is ever waited")
    }
}
