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
            #expect(
                try await client.send("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases").status == 200
            )
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

    @Test func statusFaultsAnswerTheGivenStatusWithoutApplying() async throws {
        try await withSimulatedAPI { api, client in
            api.injectFault(
                .status(503, reason: "ServiceUnavailable", retryAfterSeconds: 2),
                times: 1,
                verb: "create",
                resource: "rebalances"
            )
            #expect(try await client.send("GET", Self.path).status == 200, "only creates are affected")
            let refused = try await client.send("POST", Self.path, rebalanceBody("rb-refused"))
            #expect(refused.status == 503 && refused.body["reason"] == "ServiceUnavailable")
            #expect(refused.header("Retry-After") == "2")
            #expect(api.rebalance(namespace: "default", name: "rb-refused") == nil, "a refused request is not applied")
            #expect(try await client.send("POST", Self.path, rebalanceBody("rb-refused")).status == 201)
        }
    }

    @Test func storeThenDropConnectionStoresAndLeavesTheWriteUnanswered() async throws {
        try await withSimulatedAPI { api, client in
            api.injectFault(.storeThenDropConnection, times: 1)
            // Reads have nothing to store: the fault waits for a write.
            #expect(try await client.send("GET", Self.path).status == 200)
            var answered = true
            do { _ = try await client.send("POST", Self.path, rebalanceBody("rb-dropped")) } catch { answered = false }
            #expect(!answered)
            #expect(api.rebalance(namespace: "default", name: "rb-dropped") != nil)
            let retry = try await client.send("POST", Self.path, rebalanceBody("rb-dropped"))
            #expect(retry.status == 409 && retry.body["reason"] == "AlreadyExists")
        }
    }

    @Test func storeThenHoldStoresAndAnswersOnlyWhenReleased() async throws {
        try await withSimulatedAPI { api, client in
            api.injectFault(.storeThenHold, times: 1, verb: "create")
            async let held = client.send("POST", Self.path, rebalanceBody("rb-held"))
            while api.heldRequests == 0 { await Task.yield() }
            #expect(api.rebalance(namespace: "default", name: "rb-held") != nil, "stored before the answer is held")
            api.releaseHeldRequests()
            let answer = try await held
            #expect(answer.status == 500)
        }
    }

    @Test func theRequestLogNamesGroupResourceAndSubresource() async throws {
        try await withSimulatedAPI { api, client in
            _ = try await client.send("GET", "/apis")
            _ = try await client.send("GET", Self.path + "?labelSelector=a%3Db")
            _ = try await client.send("GET", "/apis/apps.emqx.io/v2beta1/namespaces/default/emqxes/e/scale")
            _ = try await client.send("GET", "/api/v1/namespaces/default/pods")
            let log = api.requestLog
            #expect(
                log.map(\.description) == [
                    "GET /apis", "GET \(Self.path)", "GET /apis/apps.emqx.io/v2beta1/namespaces/default/emqxes/e/scale",
                    "GET /api/v1/namespaces/default/pods",
                ]
            )
            #expect(log[0].verb == nil && log[0].resource == nil)
            #expect(log[1].verb == "list" && log[1].group == "apps.emqx.io" && log[1].rbacResource == "rebalances")
            #expect(
                log[2].verb == "get" && log[2].rbacResource == "emqxes/scale" && log[2].name == "e"
                    && log[2].namespace == "default"
            )
            #expect(log[3].verb == "list" && log[3].group == "" && log[3].rbacResource == "pods")
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
