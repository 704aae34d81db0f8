import AutorebalancerCore
import Foundation
import Logging
import Simulation
import TestSupport
import Testing

@testable import Kubernetes

/// What the client makes of servers that are not (or not yet) a Kubernetes API server: a web server's HTML 404 is
/// "not a Kubernetes API server", never "the object is missing"; a refused connection fails at once, naming the
/// server and where it came from; an attempt that fails is left on the task's request trail.
struct KubernetesAnswerTests {
    static let origin = "kubeconfig /home/me/.kube/config (context staging)"

    static func client(
        _ server: String,
        timeout: Duration = .seconds(30),
        logs: CapturedLogs
    ) throws -> HTTPKubernetesClient {
        try HTTPKubernetesClient(
            configuration: .init(
                server: server,
                namespace: "emqx",
                tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken),
                requestTimeout: timeout,
                retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200)),
                origin: origin
            ),
            logger: logs.logger()
        )
    }

    /// The client's first error for `call` (`nil` when it succeeded); the client is shut down afterwards.
    static func firstError(
        _ server: String,
        timeout: Duration = .seconds(30),
        logs: CapturedLogs,
        _ call: @Sendable (HTTPKubernetesClient) async throws -> Void
    ) async throws -> KubernetesError? {
        let client = try client(server, timeout: timeout, logs: logs)
        let failure = await error { try await call(client) }
        try await client.shutdown()
        return failure
    }

    /// Runs `body` with the simulated API server's URL, `fault` injected for `times` gets of `emqxes`.
    static func withServer<T: Sendable>(
        failing fault: APIFault,
        times: Int = 1,
        _ body: @Sendable (String) async throws -> T
    ) async throws -> T {
        let api = SimulatedKubernetesAPI(logger: Logger(label: "answer-api"))
        api.injectFault(fault, times: times, verb: "get", resource: "emqxes")
        return try await api.withRunning { api in try await body(try await api.baseURL().absoluteString) }
    }

    static func error(of body: @Sendable () async throws -> Void) async -> KubernetesError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? KubernetesError
        }
    }

    @Test func aWebServersHTML404IsNotAKubernetesAPIServerNorAMissingObject() async throws {
        let page = APIFault.raw(
            404,
            contentType: "text/html",
            body: "<!DOCTYPE HTML>\n<html><title>404 Not Found</title></html>"
        )
        let logs = CapturedLogs()
        let failure = try await Self.withServer(failing: page) { url in
            try await Self.firstError(url, logs: logs) {
                _ = try await $0.emqxObject(.v2beta1, namespace: "emqx", name: "emqx")
            }
        }
        let error = try #require(failure)
        #expect(error.code == .notKubernetesAPI)
        #expect(error.code != .notFound)
        #expect(error.description.hasPrefix("this is not a Kubernetes API server: "), "\(error)")
        #expect(
            error.description.contains("answered get emqxes.apps.emqx.io emqx/emqx with HTTP 404 \"<!DOCTYPE HTML>\""),
            "\(error)"
        )
        #expect(error.description.contains(Self.origin), "names where the server came from: \(error)")
        #expect(!error.description.contains("<html>"), "one line of the page at most: \(error)")
    }

    @Test func goPlainNotFoundAndAStatus404AreKubernetesAnswers() async throws {
        let goNotFound = APIFault.raw(404, contentType: "text/plain; charset=utf-8", body: "404 page not found\n")
        let logs = CapturedLogs()
        let (plain, status) = try await Self.withServer(failing: goNotFound) { url in
            let plain = try await Self.firstError(url, logs: logs) {
                _ = try await $0.emqxObject(.v2beta1, namespace: "emqx", name: "emqx")
            }
            // No fault left: the simulated API server answers a Status 404 for the missing object.
            let status = try await Self.firstError(url, logs: logs) {
                _ = try await $0.emqxObject(.v2beta1, namespace: "emqx", name: "emqx")
            }
            return (plain, status)
        }
        #expect(plain?.code == .notFound, "\(String(describing: plain))")
        #expect(status?.code == .notFound, "\(String(describing: status))")
    }

    @Test func anHTMLPageAnsweredWith200IsNotAKubernetesAPIServer() async throws {
        let welcome = APIFault.raw(200, contentType: "text/html", body: "<html><body>Welcome</body></html>")
        let logs = CapturedLogs()
        let failure = try await Self.withServer(failing: welcome) { url in
            try await Self.firstError(url, logs: logs) {
                _ = try await $0.emqxObject(.v2beta1, namespace: "emqx", name: "emqx")
            }
        }
        #expect(failure?.code == .notKubernetesAPI, "\(String(describing: failure))")
    }

    @Test func aRefusedConnectionFailsAtOnceNamingTheServerAndTheContext() async throws {
        // Port 1 on loopback: nothing listens there.
        let logs = CapturedLogs()
        let failure = try await Self.firstError("http://127.0.0.1:1", logs: logs) {
            _ = try await $0.emqxObject(.v2beta1, namespace: "emqx", name: "emqx")
        }
        let error = try #require(failure)
        #expect(error.connectionFailed)
        #expect(error.isTransient, "the next cycle tries again")
        #expect(
            error.detail.contains(
                "cannot connect to http://127.0.0.1:1, the server named by \(Self.origin): connection refused"
            ),
            "\(error)"
        )
        #expect(!error.description.contains("NIO"), "no library type in: \(error)")
        #expect(!error.description.contains("errno"), "\(error)")
        #expect(!logs.contains("retrying"), "a refused connection is not retried within the request: \(logs.all)")
    }

    /// Within a cycle's budget, a server that never answers costs at most the budget: no retry starts that could not
    /// get its answer in what is left, and the error says the server did not answer and that the budget ran out.
    @Test func retriesOfAnUnansweredRequestStayWithinTheCyclesBudget() async throws {
        let logs = CapturedLogs()
        let failure = try await Self.withServer(failing: .hold, times: 4) { url in
            // A 2 s request timeout in a 3 s budget: after the first attempt no retry fits.
            try await RequestBudget.$current.withValue(RequestBudget(total: .seconds(3))) {
                try await Self.firstError(url, timeout: .seconds(2), logs: logs) {
                    _ = try await $0.emqxObject(.v2beta1, namespace: "emqx", name: "emqx")
                }
            }
        }
        let error = try #require(failure)
        #expect(error.timedOut)
        #expect(error.detail.hasPrefix("the API server did not answer within "), "\(error)")
        #expect(error.detail.contains("the cycle's budget of 3s"), "\(error)")
        #expect(!logs.contains("retrying"), "no retry that the budget cannot hold: \(logs.all)")
    }

    @Test func aFailedAttemptIsLeftOnTheRequestTrail() async throws {
        let logs = CapturedLogs()
        let trail = RequestTrail()
        // Never answered within the client's timeout (held until the server shuts down).
        let failure = try await Self.withServer(failing: .hold, times: 4) { url in
            try await RequestTrail.$current.withValue(trail) {
                try await Self.firstError(url, timeout: .milliseconds(300), logs: logs) {
                    _ = try await $0.emqxObject(.v2beta1, namespace: "emqx", name: "emqx")
                }
            }
        }
        #expect(failure?.code == .unavailable)
        let latest = try #require(trail.latest)
        #expect(
            latest.hasPrefix(
                "get emqxes.apps.emqx.io emqx/emqx: API server unavailable: the API server did not answer within 0.3s (attempt "
            ),
            "\(latest)"
        )
        #expect(latest.hasSuffix(" of 4)"), "\(latest)")
    }
}
