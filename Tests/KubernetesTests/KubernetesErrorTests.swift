import AutorebalancerCore
import Testing

@testable import Kubernetes

struct KubernetesErrorTests {
    @Test(arguments: [
        (404, nil as String?, KubernetesError.Code.notFound),
        (409, "AlreadyExists", .alreadyExists),
        (409, "Conflict", .conflict),
        (403, "Forbidden", .forbidden),
        (401, nil, .unauthorized),
        (422, "Invalid", .invalid),
        (400, "BadRequest", .invalid),
        (429, "TooManyRequests", .unavailable),
        (500, nil, .unavailable),
        (503, nil, .unavailable),
        (418, nil, .other),
    ])
    func classification(status: Int, reason: String?, expected: KubernetesError.Code) {
        let body = reason.map { KubernetesStatus(status: "Failure", message: nil, reason: $0, code: status) }
        #expect(KubernetesError.classify(statusCode: status, status: body) == expected)
    }

    @Test func forbiddenNamesVerbResourceNamespaceAndRule() {
        let error = KubernetesError(
            code: .forbidden,
            request: .init(
                verb: "create",
                resource: .rebalances,
                namespace: "emqx",
                name: "emqx-ee-scaleout-20261120t102200"
            ),
            statusCode: 403,
            detail: "rebalances.apps.emqx.io is forbidden"
        )
        let text = error.description
        #expect(text.contains("may not create rebalances.apps.emqx.io in namespace \"emqx\""))
        #expect(text.contains(#"{apiGroups: ["apps.emqx.io"], resources: ["rebalances"], verbs: ["create"]}"#))
    }

    @Test func coreGroupRuleHasEmptyGroup() {
        let error = KubernetesError(
            code: .forbidden,
            request: .init(verb: "patch", resource: .events, namespace: "default"),
            detail: ""
        )
        #expect(error.description.contains(#"apiGroups: [""], resources: ["events"], verbs: ["patch"]"#))
    }

    @Test func onlyUnavailableIsTransient() {
        #expect(KubernetesError(code: .unavailable, request: nil, detail: "").isTransient)
        #expect(!KubernetesError(code: .conflict, request: nil, detail: "").isTransient)
        #expect(!KubernetesError(code: .forbidden, request: nil, detail: "").isTransient)
    }

    @Test func retryDelaysGrowAreCappedAndHonourRetryAfter() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect(policy.delay(beforeRetry: 1, retryAfterSeconds: nil, random: 0) == .milliseconds(50))
        #expect(policy.delay(beforeRetry: 1, retryAfterSeconds: nil, random: 1) == .milliseconds(100))
        #expect(policy.delay(beforeRetry: 3, retryAfterSeconds: nil, random: 1) == .milliseconds(400))
        #expect(policy.delay(beforeRetry: 10, retryAfterSeconds: nil, random: 1) == .seconds(1))
        #expect(policy.delay(beforeRetry: 1, retryAfterSeconds: 0.3, random: 0.7) == .milliseconds(300))
        #expect(policy.delay(beforeRetry: 1, retryAfterSeconds: 120, random: 0) == .seconds(1))
    }

    @Test func resourcePaths() {
        #expect(
            KubernetesResource.rebalances.path(namespace: "ns", name: "r")
                == "/apis/apps.emqx.io/v2beta1/namespaces/ns/rebalances/r"
        )
        #expect(KubernetesResource.events.path(namespace: "ns") == "/api/v1/namespaces/ns/events")
        #expect(KubernetesResource.leases.description == "leases.coordination.k8s.io")
    }
}
