import AutorebalancerCore
import Foundation
import Logging
import Simulation
import TestSupport
import Testing

@testable import Kubernetes

/// The live client against a Kubernetes API on loopback, with faults injected.
struct HTTPKubernetesClientTests {
    static let namespace = "emqx"

    static func rebalance(_ name: String) -> Rebalance {
        Rebalance(
            metadata: ObjectMeta(
                name: name,
                namespace: namespace,
                labels: ["app.kubernetes.io/managed-by": "emqx-autorebalancer"]
            ),
            spec: RebalanceSpec(instanceKind: .emqx, instanceName: "emqx", rebalanceStrategy: .init(connEvictRate: 10))
        )
    }

    /// The request timeout is generous: on loopback a request that is answered is always answered within it, even on
    /// a loaded machine, so retries happen only where a test injects a fault. The waits between retries are on
    /// `clock`, woken as soon as they start: seconds-long backoffs cost no time, and `clock.sleepLengths` tells what
    /// the client waited.
    static func withClient<T: Sendable>(
        _ server: SimulatedKubernetesAPI,
        token: any BearerTokenProvider = StaticTokenProvider(SimulatedKubernetesAPI.defaultToken),
        timeout: Duration = .seconds(30),
        logs: CapturedLogs = CapturedLogs(),
        clock: ManualClock = ManualClock(),
        _ body: @Sendable @escaping (HTTPKubernetesClient) async throws -> T
    ) async throws -> T {
        try await server.withRunning { server in
            let client = try HTTPKubernetesClient(
                configuration: .init(
                    server: try await server.baseURL().absoluteString,
                    namespace: namespace,
                    tokenProvider: token,
                    requestTimeout: timeout,
                    retry: RetryPolicy(maxAttempts: 4, baseDelay: .seconds(10), maxDelay: .seconds(60))
                ),
                logger: logs.logger(),
                clock: clock
            )
            do {
                let result = try await clock.advancingEverySleep { try await body(client) }
                try await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    static func server() -> SimulatedKubernetesAPI { SimulatedKubernetesAPI(logger: Logger(label: "client-test-api")) }

    @Test func createGetListPatchDelete() async throws {
        let server = Self.server()
        try await Self.withClient(server) { client in
            let created = try await client.createRebalance(Self.rebalance("r1"))
            #expect(created.metadata.uid != nil)
            _ = try await client.createRebalance(Self.rebalance("r2"))
            var other = Self.rebalance("foreign")
            other.metadata.labels = nil
            _ = try await client.createRebalance(other)
            let ours = try await client.rebalances(
                namespace: Self.namespace,
                labelSelector: "app.kubernetes.io/managed-by=emqx-autorebalancer"
            )
            #expect(ours.map { $0.metadata.name } == ["r1", "r2"])
            let patched = try await client.patchRebalanceMetadata(
                namespace: Self.namespace,
                name: "r1",
                labels: [:],
                annotations: ["autorebalancer.emqx.io/outcome": "balanced"]
            )
            #expect(patched.metadata.annotations?["autorebalancer.emqx.io/outcome"] == "balanced")
            #expect(patched.spec == created.spec)
            try await client.deleteRebalance(namespace: Self.namespace, name: "r1")
            let error = await #expect(throws: KubernetesError.self) {
                try await client.rebalance(namespace: Self.namespace, name: "r1")
            }
            #expect(error?.code == .notFound)
        }
    }

    @Test func alreadyExistsIsClassified() async throws {
        let server = Self.server()
        try await Self.withClient(server) { client in
            _ = try await client.createRebalance(Self.rebalance("r1"))
            let error = await #expect(throws: KubernetesError.self) {
                try await client.createRebalance(Self.rebalance("r1"))
            }
            #expect(error?.code == .alreadyExists)
        }
        #expect(server.requests("create", "rebalances") == 2)
    }

    @Test func forbiddenNamesTheMissingPermission() async throws {
        let server = Self.server()
        server.deny(verb: "create", resource: "rebalances")
        try await Self.withClient(server) { client in
            let error = await #expect(throws: KubernetesError.self) {
                try await client.createRebalance(Self.rebalance("r1"))
            }
            #expect(error?.code == .forbidden)
            let text = error?.description ?? ""
            #expect(text.contains("may not create rebalances.apps.emqx.io in namespace \"emqx\""))
            #expect(text.contains(#"verbs: ["create"]"#))
        }
        #expect(server.requests("create", "rebalances") == 1)  // never retried
    }

    @Test func tooManyRequestsAndServerErrorsAreRetriedThenSucceed() async throws {
        let server = Self.server()
        let logs = CapturedLogs()
        server.injectFault(.tooManyRequests(retryAfterSeconds: 7), verb: "list", resource: "rebalances")
        server.injectFault(.status(503, reason: "ServiceUnavailable"), verb: "list", resource: "rebalances")
        let clock = ManualClock()
        try await Self.withClient(server, logs: logs, clock: clock) { client in
            let items = try await client.rebalances(namespace: Self.namespace, labelSelector: nil)
            #expect(items.isEmpty)
        }
        #expect(server.requests("list", "rebalances") == 3)
        #expect(logs.contains("attempt 1 of 4"))
        #expect(logs.contains("HTTP 429"))
        // The server's Retry-After, then the second step of the jittered backoff (10 s doubled, halved at most).
        let waits = clock.sleepLengths
        #expect(waits.count == 2)
        #expect(waits.first == .seconds(7))
        #expect(waits.last.map { (.seconds(10)...(.seconds(20))).contains($0) } == true, "\(waits)")
    }

    /// The retry line as docs/kubernetes.md shows it: the request once, the cause, the attempt, a short delay.
    @Test func aRetryLineNamesTheRequestOnceAndTheDelayInShortSeconds() async throws {
        let server = Self.server()
        let logs = CapturedLogs()
        server.injectFault(.status(503, reason: "ServiceUnavailable"), verb: "list", resource: "rebalances")
        try await Self.withClient(server, logs: logs) { client in
            _ = try await client.rebalances(namespace: Self.namespace, labelSelector: nil)
        }
        let line = try #require(logs.all.first { $0.contains("attempt 1 of 4") })
        let request = "list rebalances.apps.emqx.io in namespace \(Self.namespace)"
        #expect(line.components(separatedBy: request).count == 2, "the request is named once: \(line)")
        #expect(
            line.hasPrefix(
                "warning: \(request): API server unavailable (HTTP 503): the server cannot handle the request (simulated 503 ServiceUnavailable); attempt 1 of 4, retrying in "
            ),
            "\(line)"
        )
        #expect(line.range(of: #"retrying in [0-9]+(\.[0-9]{1,2})?s$"#, options: .regularExpression) != nil, "\(line)")
    }

    @Test(arguments: [(0.15, "0.15s"), (1.6, "1.6s"), (10, "10s"), (0.1742, "0.17s")])
    func retryDelaysPrintAsShortSeconds(seconds: Double, text: String) {
        #expect(Duration.milliseconds(Int64(seconds * 1000)).text == text)
    }

    @Test func aHugeRetryAfterIsCappedNotACrash() {
        let policy = RetryPolicy(maxDelay: .seconds(10))
        #expect(policy.delay(beforeRetry: 1, retryAfterSeconds: 1e300, random: 0) == .seconds(10))
    }

    @Test func retriesAreBounded() async throws {
        let server = Self.server()
        server.injectFault(.internalError, times: 10, verb: "list", resource: "rebalances")
        let clock = ManualClock()
        try await Self.withClient(server, clock: clock) { client in
            let error = await #expect(throws: KubernetesError.self) {
                try await client.rebalances(namespace: Self.namespace, labelSelector: nil)
            }
            #expect(error?.code == .unavailable)
        }
        #expect(server.requests("list", "rebalances") == 4)
        #expect(clock.sleepsStarted == 3, "a wait before each retry, none after the last attempt")
    }

    @Test func otherClientErrorsAreNotRetried() async throws {
        let server = Self.server()
        server.injectFault(.status(400, reason: "BadRequest"), verb: "list", resource: "rebalances")
        let clock = ManualClock()
        _ = try await Self.withClient(server, clock: clock) { client in
            await #expect(throws: KubernetesError.self) {
                try await client.rebalances(namespace: Self.namespace, labelSelector: nil)
            }
        }
        #expect(server.requests("list", "rebalances") == 1)
        #expect(clock.sleepsStarted == 0, "no retry, so no wait")
    }

    /// A create that went through but whose answer was lost (500, no answer at all, dropped connection) is read back,
    /// never repeated: exactly one object, one POST, and a clear log line. (How many GETs the read-back takes is not
    /// the point: on a loaded machine one of them may be retried.)
    @Test(arguments: [
        APIFault.storeThenInternalError,
        .storeThenHold,  // never answers: only the client's timeout ends the attempt
        .storeThenDropConnection,
    ])
    func lostCreateAnswerCreatesNoDuplicate(fault: APIFault) async throws {
        let server = Self.server()
        let logs = CapturedLogs()
        server.injectFault(fault, verb: "create", resource: "rebalances")
        let timeout: Duration = fault == .storeThenHold ? .seconds(2) : .seconds(30)
        let created = try await Self.withClient(server, timeout: timeout, logs: logs) { client in
            try await client.createRebalance(Self.rebalance("r1"))
        }
        #expect(created.metadata.name == "r1")
        #expect(server.requests("create", "rebalances") == 1)
        #expect(server.requests("get", "rebalances", name: "r1") >= 1)
        #expect(server.rebalances(namespace: Self.namespace).count == 1)
        #expect(logs.contains("the object exists, so it was created"))
    }

    @Test func createThatDidNotHappenIsRetriedAfterLooking() async throws {
        let server = Self.server()
        server.injectFault(.status(503, reason: "ServiceUnavailable"), verb: "create", resource: "rebalances")
        _ = try await Self.withClient(server) { client in try await client.createRebalance(Self.rebalance("r1")) }
        #expect(server.requests("create", "rebalances") == 2)
        #expect(server.requests("get", "rebalances", name: "r1") >= 1)  // looked before creating again
        #expect(server.rebalances(namespace: Self.namespace).count == 1)
    }

    @Test func rotatedServiceAccountTokenIsPickedUp() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("token", "token-A")
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 1_000)],
            ofItemAtPath: path
        )
        let server = Self.server()
        server.setTokens(["token-A": SimulatedKubernetesAPI.defaultUser])
        try await Self.withClient(server, token: FileTokenProvider(path: path)) { client in
            _ = try await client.rebalances(namespace: Self.namespace, labelSelector: nil)
            // The kubelet rotates the projected token; the API server stops accepting the old one.
            try dir.write("token", "token-B")
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 2_000)],
                ofItemAtPath: path
            )
            server.setTokens(["token-B": SimulatedKubernetesAPI.defaultUser])
            _ = try await client.rebalances(namespace: Self.namespace, labelSelector: nil)
        }
        #expect(server.requests("list", "rebalances") == 2)  // no 401 on the way
    }

    @Test func unauthorizedRereadsTheTokenOnceThenFails() async throws {
        let server = Self.server()
        server.setTokens(["right": SimulatedKubernetesAPI.defaultUser])
        try await Self.withClient(server, token: StaticTokenProvider("wrong")) { client in
            let error = await #expect(throws: KubernetesError.self) {
                try await client.rebalances(namespace: Self.namespace, labelSelector: nil)
            }
            #expect(error?.code == .unauthorized)
        }
        #expect(server.requests("list", "rebalances") == 2)
    }

    @Test func leaseUpdateConflictIsReported() async throws {
        let server = Self.server()
        try await Self.withClient(server) { client in
            let lease = Lease(
                metadata: ObjectMeta(name: "l", namespace: Self.namespace),
                spec: .init(holderIdentity: "a")
            )
            var created = try await client.createLease(lease)
            created.spec?.holderIdentity = "b"
            _ = try await client.updateLease(created)
            // A stale resourceVersion.
            let error = await #expect(throws: KubernetesError.self) { try await client.updateLease(created) }
            #expect(error?.code == .conflict)
        }
    }

    @Test func compatibilityCheckSaysWhatIsWrong() async throws {
        let server = Self.server()
        // Operator 2.1.x: Rebalance only as v1beta4.
        server.stopServing(groupVersion: "apps.emqx.io/v2beta1")
        server.serveFreeForm(.rebalancesV1beta4)
        _ = try server.putObject(
            .emqxEnterprises,
            namespace: Self.namespace,
            EmqxEnterpriseResource(
                metadata: ObjectMeta(name: "emqx-ee", namespace: Self.namespace),
                status: .init(emqxNodes: [.init(node: "a")])
            )
        )
        let report = try await Self.withClient(server) { client in
            await CompatibilityCheck(discovery: OperatorDiscovery(api: client)).run(clusters: [
                ClusterReference(namespace: Self.namespace, name: "emqx-ee", kind: .emqxEnterprise),
                ClusterReference(namespace: Self.namespace, name: "emqx", kind: .emqx),
            ])
        }
        let findings = report.findings
        #expect(report.served?.generation == .v2_1)
        #expect(report.clusters.map(\.plan.generation) == [.v2_1, .v2_1])
        #expect(
            findings.contains {
                $0.severity == .warning && $0.cluster?.name == "emqx-ee"
                    && $0.message.contains("2.1 serves Rebalance only as apps.emqx.io/v1beta4")
            }
        )
        #expect(
            findings.contains {
                $0.severity == .warning && $0.cluster?.name == "emqx-ee" && $0.message.contains("session rules only")
            }
        )
        // 2.1 serves no EMQX resource the agent reads here (v1beta4 only is served).
        #expect(
            findings.contains {
                $0.severity == .error && $0.cluster?.name == "emqx"
                    && $0.message.contains("emqxes.apps.emqx.io is served at no version")
            }
        )
    }

    @Test func compatibilityCheckNamesAMissingObject() async throws {
        let server = Self.server()  // operator 2.2
        let report = try await Self.withClient(server) { client in
            await CompatibilityCheck(discovery: OperatorDiscovery(api: client)).run(clusters: [
                ClusterReference(namespace: Self.namespace, name: "missing", kind: .emqx)
            ])
        }
        #expect(report.clusters.first?.plan.acting == .rebalanceResource)
        #expect(
            report.findings.contains {
                $0.severity == .error && $0.cluster?.name == "missing" && $0.message.contains("no EMQX object missing")
            }
        )
    }

    @Test func eventsAreAggregated() async throws {
        let server = Self.server()
        server.stopServing(groupVersion: "events.k8s.io/v1")  // core/v1 Events, aggregated by count
        try await Self.withClient(server) { client in
            let recorder = EventRecorder(
                api: client,
                canWrite: { true },
                instance: "agent-1",
                logger: CapturedLogs().logger()
            )
            let object = ObjectReference(
                apiVersion: "apps.emqx.io/v2beta1",
                kind: "EMQX",
                name: "emqx",
                namespace: Self.namespace
            )
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            #expect(await recorder.record(.rebalanceBlocked, "rule a blocked: cooldown", on: object, at: t0) == 1)
            #expect(
                await recorder.record(
                    .rebalanceBlocked,
                    "rule a blocked: cooldown",
                    on: object,
                    at: t0.addingTimeInterval(30)
                ) == 2
            )
            #expect(
                await recorder.record(
                    .rebalanceBlocked,
                    "rule a blocked: cooldown",
                    on: object,
                    at: t0.addingTimeInterval(60)
                ) == 3
            )
            #expect(
                await recorder.record(.rebalanceCreated, "created r1", on: object, at: t0.addingTimeInterval(90)) == 1
            )
            let follower = EventRecorder(
                api: client,
                canWrite: { false },
                instance: "agent-2",
                logger: CapturedLogs().logger()
            )
            #expect(await follower.record(.rebalanceCreated, "created r1", on: object, at: t0) == nil)
        }
        let events = server.events(namespace: Self.namespace)
        #expect(events.count == 2)
        let blocked = events.first { $0.reason == "RebalanceBlocked" }
        #expect(blocked?.count == 3)
        #expect(blocked?.type == "Warning")
        #expect(blocked?.lastTimestamp == KubernetesTime.format(Date(timeIntervalSince1970: 1_800_000_060)))
        #expect(events.first { $0.reason == "RebalanceCreated" }?.type == "Normal")
    }
}

extension SimulatedKubernetesAPI {
    /// How many requests with this verb on this resource (and object) the server received.
    func requests(_ verb: String, _ resource: String, name: String? = nil) -> Int {
        requestLog.filter { $0.verb == verb && $0.resource == resource && (name == nil || $0.name == name) }.count
    }
}
