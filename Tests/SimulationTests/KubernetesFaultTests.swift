import AsyncHTTPClient
import Foundation
import Simulation
import Testing

@Suite struct KubernetesFaultTests {
    static let path = "/apis/apps.emqx.io/v2beta1/namespaces/default/rebalances"

    @Test func tooManyRequestsCarriesRetryAfter() async throws {
        try await withSimulatedAPI { api, client in
            api.injectFault(.tooManyRequests(retryAfterSeconds: 3), times: 1, verb: "list")
            let limited = try await client.send("GET", Self.path)
            #expect(limited.status == 429)
            #expect(limited.header("Retry-After") == "3")
            #expect(limited.body["reason"] == "TooManyRequests")
            #expect(limited.body.value(atPath: "details.retryAfterSeconds") == 3)
            // Only one request was affected.
            #expect(try await client.send("GET", Self.path).status == 200)
        }
    }

    @Test func internalErrorsAnswer500UntilCleared() async throws {
        try await withSimulatedAPI { api, client in
            api.injectFault(.internalError, times: nil, resource: "rebalances")
            for _ in 0..<3 {
                let answer = try await client.send("GET", Self.path)
                #expect(answer.status == 500 && answer.body["reason"] == "InternalError")
            }
            // Other resources are untouched.
            #expect(try await client.send("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases").status == 200)
            api.clearFaults()
            #expect(try await client.send("GET", Self.path).status == 200)
        }
    }

    @Test func droppedConnectionsGetNoAnswer() async throws {
        try await withSimulatedAPI { api, client in
            api.injectFault(.dropConnection, times: 1)
            var failed = false
            do { _ = try await client.send("GET", Self.path) } catch { failed = true }
            #expect(failed)
            let next = try await client.send("GET", Self.path)
            #expect(next.status == 200)
        }
    }

    @Test func createStoredThenAnswered500() async throws {
        try await withSimulatedAPI { api, client in
            api.injectFault(.storeThenInternalError, times: 1)
            // The fault only applies to creates: this read passes.
            #expect(try await client.send("GET", Self.path).status == 200)
            let first = try await client.send("POST", Self.path, rebalanceBody("rb-lost-answer"))
            #expect(first.status == 500 && first.body["reason"] == "InternalError")
            #expect(api.rebalance(namespace: "default", name: "rb-lost-answer") != nil)
            let retry = try await client.send("POST", Self.path, rebalanceBody("rb-lost-answer"))
            #expect(retry.status == 409 && retry.body["reason"] == "AlreadyExists")
        }
    }

    @Test func latencyDelaysAnswers() async throws {
        try await withSimulatedAPI { api, client in
            api.setLatency(.milliseconds(300))
            let start = ContinuousClock.now
            let answer = try await client.send("GET", Self.path)
            #expect(answer.status == 200)
            #expect(ContinuousClock.now - start >= .milliseconds(300))
        }
    }

    @Test func kubeconfigPointsAtTheServer() async throws {
        try await withSimulatedAPI { api, _ in
            let text = try await api.kubeconfig(token: "t-1")
            let url = try await api.baseURL()
            #expect(text.contains("server: \(url.absoluteString)"))
            #expect(text.contains("token: t-1"))
            #expect(url.absoluteString.hasPrefix("http://127.0.0.1:"))
        }
    }
}
