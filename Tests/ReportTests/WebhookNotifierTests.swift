import TestSupport
import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Report
import ServiceLifecycle
import Synchronization
import Testing

struct WebhookNotifierTests {
    struct Received: Sendable { var body: String; var signature: String?; var authorization: String? }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    static func record(_ rule: String) -> DecisionRecord {
        DecisionRecord(time: Date(timeIntervalSince1970: 1_800_000_000), cluster: "default/emqx-ee", rule: rule, trigger: .scaleOut, action: .rebalance)
    }

    @Test func signsRetriesAndDelivers() async throws {
        let received = Mutex<[Received]>([])
        let failuresLeft = Mutex(2)
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            // The first two attempts fail with 503: the notifier must retry.
            if failuresLeft.withLock({ left in defer { left -= 1 }; return left > 0 }) { return Response(status: .serviceUnavailable) }
            received.withLock {
                $0.append(Received(body: String(buffer: body), signature: request.headers.first { $0.name.rawName.lowercased() == "x-autorebalancer-signature" }?.value,
                                   authorization: request.headers[.authorization]))
            }
            return Response(status: .noContent)
        }
        let metrics = AgentMetrics(version: "test")
        try await withLoopbackServer(router) { port in
            let notifier = WebhookNotifier(configuration: .init(
                name: "hook", url: "http://127.0.0.1:\(port)/hook", bearerToken: "tok", signingSecret: "key",
                maxAttempts: 4, initialBackoff: .milliseconds(10), maximumBackoff: .milliseconds(40)
            ), httpClient: .shared, metrics: metrics, logger: Self.logger)
            let group = ServiceGroup(configuration: .init(services: [notifier], logger: Self.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                notifier.submit(.decision(Self.record("scale-out")))
                for _ in 0..<200 where received.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(20)) }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        let got = try #require(received.withLock { $0.first })
        #expect(got.authorization == "Bearer tok")
        #expect(got.signature == "sha256=" + SHA256.hex(SHA256.hmac(key: Array("key".utf8), message: Array(got.body.utf8))))
        #expect(got.body.hasPrefix(#"{"decision":{"#))
        #expect(got.body.contains(#""type":"decision""#))
        #expect(got.body.contains(#""rule":"scale-out""#))
        let text = metrics.render()
        #expect(text.contains(#"emqx_autorebalancer_alerts_sent_total{receiver="hook",result="failure"} 2"#))
        #expect(text.contains(#"emqx_autorebalancer_alerts_sent_total{receiver="hook",result="success"} 1"#))
    }

    @Test func fullQueueDropsTheOldest() async throws {
        let received = Mutex<[String]>([])
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            received.withLock { $0.append(String(buffer: body)) }
            return Response(status: .ok)
        }
        let metrics = AgentMetrics(version: "test")
        try await withLoopbackServer(router) { port in
            let notifier = WebhookNotifier(configuration: .init(name: "hook", url: "http://127.0.0.1:\(port)/hook", queueCapacity: 2),
                                           httpClient: .shared, metrics: metrics, logger: Self.logger)
            // Not running yet: the queue fills, submit never waits.
            #expect(notifier.submit(.decision(Self.record("r1"))))
            #expect(notifier.submit(.decision(Self.record("r2"))))
            #expect(!notifier.submit(.decision(Self.record("r3"))))
            let group = ServiceGroup(configuration: .init(services: [notifier], logger: Self.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                for _ in 0..<200 where received.withLock({ $0.count < 2 }) { try await Task.sleep(for: .milliseconds(20)) }
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

    @Test func clientErrorsAreNotRetried() async throws {
        let attempts = Mutex(0)
        let router = Router()
        router.post("/hook") { _, _ -> Response in
            attempts.withLock { $0 += 1 }
            return Response(status: .badRequest)
        }
        try await withLoopbackServer(router) { port in
            let notifier = WebhookNotifier(configuration: .init(name: "hook", url: "http://127.0.0.1:\(port)/hook", maxAttempts: 5, initialBackoff: .milliseconds(5)),
                                           httpClient: .shared, metrics: nil, logger: Self.logger)
            let group = ServiceGroup(configuration: .init(services: [notifier], logger: Self.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                notifier.submit(.decision(Self.record("r")))
                for _ in 0..<100 where attempts.withLock({ $0 == 0 }) { try await Task.sleep(for: .milliseconds(20)) }
                try await Task.sleep(for: .milliseconds(100))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        #expect(attempts.withLock { $0 } == 1)
    }
}
