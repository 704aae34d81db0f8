import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Simulation
import Testing

@Suite struct KubernetesAPITests {
    static let rebalancesPath = "/apis/apps.emqx.io/v2beta1/namespaces/default/rebalances"

    @Test func discoveryServesTheGroups() async throws {
        try await withSimulatedAPI { _, client in
            let version = try await client.send("GET", "/version")
            #expect(version.status == 200)
            #expect(version.body["major"] == "1")
            let groups = try await client.send("GET", "/apis")
            #expect(groups.body["kind"] == "APIGroupList")
            let names = (groups.body["groups"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            #expect(names == ["apps.emqx.io", "coordination.k8s.io", "events.k8s.io", "autorebalancer.emqx.io"])
            let resources = try await client.send("GET", "/apis/apps.emqx.io/v2beta1")
            #expect(resources.body["groupVersion"] == "apps.emqx.io/v2beta1")
            let plurals = (resources.body["resources"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            #expect(
                plurals.contains("rebalances") && plurals.contains("emqxes") && plurals.contains("rebalances/status")
            )
            let core = try await client.send("GET", "/api")
            #expect(core.body["versions"] == ["v1"])
            let unknown = try await client.send("GET", "/apis/apps/v1")
            #expect(unknown.status == 404)
        }
    }

    @Test func tokensAreCheckedAndCanBeRotated() async throws {
        try await withSimulatedAPI { api, client in
            var anonymous = client
            anonymous.token = nil
            let missing = try await anonymous.send("GET", Self.rebalancesPath)
            #expect(missing.status == 401)
            #expect(
                missing.body["kind"] == "Status" && missing.body["reason"] == "Unauthorized"
                    && missing.body["code"] == 401
            )
            #expect(missing.body["status"] == "Failure")

            api.addToken("new-token")
            api.revokeToken(SimulatedKubernetesAPI.defaultToken)
            #expect(try await client.send("GET", Self.rebalancesPath).status == 401)
            var rotated = client
            rotated.token = "new-token"
            #expect(try await rotated.send("GET", Self.rebalancesPath).status == 200)
        }
    }

    @Test func createGetAndTheirErrors() async throws {
        try await withSimulatedAPI { _, client in
            let created = try await client.send("POST", Self.rebalancesPath, rebalanceBody("rb-1"))
            #expect(created.status == 201)
            let metadata = created.body["metadata"]
            #expect(metadata?["uid"]?.stringValue?.isEmpty == false)
            #expect(metadata?["resourceVersion"]?.stringValue?.isEmpty == false)
            #expect(metadata?["creationTimestamp"]?.stringValue?.hasSuffix("Z") == true)
            #expect(metadata?["generation"] == 1)
            #expect(metadata?["namespace"] == "default")
            // CRD defaults applied on create.
            let strategy = created.body.value(atPath: "spec.rebalanceStrategy")
            #expect(
                strategy?["sessEvictRate"] == 500 && strategy?["waitTakeover"] == 60
                    && strategy?["waitHealthCheck"] == 60
            )
            #expect(strategy?["absConnThreshold"] == 1000 && strategy?["absSessThreshold"] == 1000)
            #expect(strategy?["relConnThreshold"] == "1.1" && strategy?["relSessThreshold"] == "1.1")

            let fetched = try await client.send("GET", Self.rebalancesPath + "/rb-1")
            #expect(fetched.status == 200 && fetched.body == created.body)
            let typed = try fetched.body.decode(Rebalance.self)
            #expect(typed.spec.rebalanceStrategy.connEvictRate == 10)

            let duplicate = try await client.send("POST", Self.rebalancesPath, rebalanceBody("rb-1"))
            #expect(duplicate.status == 409)
            #expect(duplicate.body["reason"] == "AlreadyExists")
            #expect(duplicate.body["message"] == #"rebalances.apps.emqx.io "rb-1" already exists"#)
            #expect(duplicate.body.value(atPath: "details.name") == "rb-1")
            #expect(duplicate.body.value(atPath: "details.group") == "apps.emqx.io")

            let missing = try await client.send("GET", Self.rebalancesPath + "/nope")
            #expect(missing.status == 404)
            #expect(missing.body["reason"] == "NotFound")
            #expect(missing.body["message"] == #"rebalances.apps.emqx.io "nope" not found"#)
        }
    }

    @Test func unknownFieldsArePrunedFromTheSpecButMetadataIsKept() async throws {
        try await withSimulatedAPI { _, client in
            var body = rebalanceBody("rb-keep")
            body["spec"]?["extra"] = "dropped"
            body["metadata"]?["annotations"] = ["emqx-autorebalancer/decision": "{\"rule\":\"scale-out\"}"]
            body["metadata"]?["ownerReferences"] = [
                ["apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u-1"]
            ]
            let created = try await client.send("POST", Self.rebalancesPath, body)
            #expect(created.status == 201)
            #expect(created.body.value(atPath: "spec.extra") == nil)
            #expect(created.header("Warning")?.contains("unknown field") == true)
            #expect(created.body.value(atPath: "metadata.annotations") == body.value(atPath: "metadata.annotations"))
            #expect(
                created.body.value(atPath: "metadata.ownerReferences") == body.value(atPath: "metadata.ownerReferences")
            )
        }
    }

    @Test func listsFilterByLabelSelectors() async throws {
        try await withSimulatedAPI { api, client in
            let labels: [(String, [String: String])] = [
                ("a", ["app": "emqx-autorebalancer", "cluster": "emqx-ee"]),
                ("b", ["app": "emqx-autorebalancer", "cluster": "other"]),
                ("c", ["cluster": "emqx-ee", "paused": "true"]),
            ]
            for (name, labels) in labels {
                #expect(
                    try await client.send("POST", Self.rebalancesPath, rebalanceBody(name, labels: labels)).status
                        == 201
                )
            }
            api.putObject(
                .rebalances,
                namespace: "other-ns",
                rebalanceBody("d", labels: ["app": "emqx-autorebalancer"])
            )
            func names(_ query: String, cluster: Bool = false) async throws -> [String] {
                let path =
                    (cluster ? "/apis/apps.emqx.io/v2beta1/rebalances" : Self.rebalancesPath) + "?labelSelector="
                    + query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let answer = try await client.send("GET", path)
                #expect(answer.body["kind"] == "RebalanceList")
                #expect(answer.body.value(atPath: "metadata.resourceVersion")?.stringValue != nil)
                return (answer.body["items"]?.arrayValue ?? []).compactMap {
                    $0.value(atPath: "metadata.name")?.stringValue
                }
            }
            #expect(try await names("app=emqx-autorebalancer") == ["a", "b"])
            #expect(try await names("app==emqx-autorebalancer,cluster=emqx-ee") == ["a"])
            #expect(try await names("cluster in (emqx-ee,other)") == ["a", "b", "c"])
            #expect(try await names("cluster notin (other)") == ["a", "c"])
            #expect(try await names("!paused") == ["a", "b"])
            #expect(try await names("paused") == ["c"])
            #expect(try await names("cluster!=emqx-ee") == ["b"])
            let all = try await names("app=emqx-autorebalancer", cluster: true)
            #expect(Set(all) == ["a", "b", "d"])
            let bad = try await client.send(
                "GET",
                Self.rebalancesPath + "?labelSelector=" + "a in b".addingPercentEncoding(
                    withAllowedCharacters: .alphanumerics
                )!
            )
            #expect(bad.status == 400 && bad.body["reason"] == "BadRequest")
        }
    }

    @Test func metadataPatchesBumpTheResourceVersionAndTheSpecIsImmutable() async throws {
        try await withSimulatedAPI { _, client in
            let created = try await client.send("POST", Self.rebalancesPath, rebalanceBody("rb-p"))
            let rv0 = created.body.value(atPath: "metadata.resourceVersion")?.stringValue
            let merged = try await client.send(
                "PATCH",
                Self.rebalancesPath + "/rb-p",
                ["metadata": ["labels": ["outcome": "effective"]]],
                contentType: "application/merge-patch+json"
            )
            #expect(merged.status == 200)
            #expect(merged.body.value(atPath: "metadata.labels.outcome") == "effective")
            let rv1 = merged.body.value(atPath: "metadata.resourceVersion")?.stringValue
            #expect(rv1 != rv0)
            #expect(merged.body.value(atPath: "metadata.generation") == 1)
            let jsonPatched = try await client.send(
                "PATCH",
                Self.rebalancesPath + "/rb-p",
                [
                    ["op": "add", "path": "/metadata/annotations", "value": ["note": "x"]],
                    ["op": "remove", "path": "/metadata/labels/outcome"],
                ],
                contentType: "application/json-patch+json"
            )
            #expect(jsonPatched.status == 200)
            #expect(jsonPatched.body.value(atPath: "metadata.annotations.note") == "x")
            #expect(jsonPatched.body.value(atPath: "metadata.labels.outcome") == nil)

            let specChange = try await client.send(
                "PATCH",
                Self.rebalancesPath + "/rb-p",
                ["spec": ["rebalanceStrategy": ["connEvictRate": 20]]],
                contentType: "application/merge-patch+json"
            )
            #expect(specChange.status == 403)
            #expect(specChange.body["reason"] == "Forbidden")
            #expect(
                specChange.body["message"]
                    == #"admission webhook "validator.rebalance.emqx.io" denied the request: the Rebalance spec don't allow update"#
            )

            var replaced = jsonPatched.body
            replaced["spec"]?["instanceName"] = "another"
            let put = try await client.send("PUT", Self.rebalancesPath + "/rb-p", replaced)
            #expect(put.status == 403)

            var stale = jsonPatched.body
            stale["metadata"]?["resourceVersion"] = .string(rv0 ?? "")
            stale["metadata"]?["labels"] = ["x": "y"]
            let conflict = try await client.send("PUT", Self.rebalancesPath + "/rb-p", stale)
            #expect(conflict.status == 409 && conflict.body["reason"] == "Conflict")

            let strategic = try await client.send(
                "PATCH",
                Self.rebalancesPath + "/rb-p",
                ["metadata": ["labels": ["a": "b"]]],
                contentType: "application/strategic-merge-patch+json"
            )
            #expect(strategic.status == 415)
        }
    }

    @Test func deleteWaitsForTheFinalizer() async throws {
        try await withSimulatedAPI { _, client in
            var body = rebalanceBody("rb-d")
            body["metadata"]?["finalizers"] = ["apps.emqx.io/finalizer"]
            #expect(try await client.send("POST", Self.rebalancesPath, body).status == 201)
            let deleted = try await client.send("DELETE", Self.rebalancesPath + "/rb-d")
            #expect(deleted.status == 200)
            #expect(deleted.body.value(atPath: "metadata.deletionTimestamp") != nil)
            #expect(try await client.send("GET", Self.rebalancesPath + "/rb-d").status == 200)
            let released = try await client.send(
                "PATCH",
                Self.rebalancesPath + "/rb-d",
                ["metadata": ["finalizers": nil]],
                contentType: "application/merge-patch+json"
            )
            #expect(released.status == 200)
            #expect(try await client.send("GET", Self.rebalancesPath + "/rb-d").status == 404)
            let again = try await client.send("DELETE", Self.rebalancesPath + "/rb-d")
            #expect(again.status == 404)
        }
    }

    @Test func deniedVerbsAnswerRBACsMessage() async throws {
        try await withSimulatedAPI { api, client in
            api.deny(verb: "create", resource: "rebalances", namespace: "default")
            let denied = try await client.send("POST", Self.rebalancesPath, rebalanceBody("rb-x"))
            #expect(denied.status == 403)
            #expect(denied.body["reason"] == "Forbidden")
            #expect(
                denied.body["message"]
                    == #"rebalances.apps.emqx.io is forbidden: User "system:serviceaccount:default:emqx-autorebalancer" cannot create resource "rebalances" in API group "apps.emqx.io" in the namespace "default""#
            )
            api.deny(verb: "list", resource: "rebalances")
            let list = try await client.send("GET", "/apis/apps.emqx.io/v2beta1/rebalances")
            #expect(
                list.body["message"]
                    == #"rebalances.apps.emqx.io is forbidden: User "system:serviceaccount:default:emqx-autorebalancer" cannot list resource "rebalances" in API group "apps.emqx.io" at the cluster scope"#
            )
            api.deny(verb: "get", resource: "leases")
            let lease = try await client.send("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/agent")
            #expect(
                lease.body["message"]
                    == #"leases.coordination.k8s.io "agent" is forbidden: User "system:serviceaccount:default:emqx-autorebalancer" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "default""#
            )
            api.allow(verb: "create", resource: "rebalances", namespace: "default")
            #expect(try await client.send("POST", Self.rebalancesPath, rebalanceBody("rb-x")).status == 201)
        }
    }

    @Test func leasesUseOptimisticConcurrency() async throws {
        try await withSimulatedAPI { api, client in
            let path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
            let lease: KubernetesJSON = [
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": ["name": "emqx-autorebalancer"],
                "spec": [
                    "holderIdentity": "pod-a", "leaseDurationSeconds": 15, "renewTime": "2026-11-20T10:22:00.000000Z",
                ],
            ]
            let created = try await client.send("POST", path, lease)
            #expect(created.status == 201)
            #expect(try await client.send("POST", path, lease).status == 409)
            var renewed = created.body
            renewed["spec"]?["renewTime"] = "2026-11-20T10:22:05.000000Z"
            let first = try await client.send("PUT", path + "/emqx-autorebalancer", renewed)
            #expect(first.status == 200)
            #expect(
                first.body.value(atPath: "metadata.resourceVersion")
                    != created.body.value(atPath: "metadata.resourceVersion")
            )
            // A second writer still holding the old resourceVersion loses.
            var takeover = created.body
            takeover["spec"]?["holderIdentity"] = "pod-b"
            let lost = try await client.send("PUT", path + "/emqx-autorebalancer", takeover)
            #expect(lost.status == 409)
            #expect(lost.body["reason"] == "Conflict")
            #expect(
                lost.body["message"]
                    == #"Operation cannot be fulfilled on leases.coordination.k8s.io "emqx-autorebalancer": the object has been modified; please apply your changes to the latest version and try again"#
            )
            #expect(api.lease(namespace: "default", name: "emqx-autorebalancer")?.spec?.holderIdentity == "pod-a")
            let missing = try await client.send("PUT", path + "/nope", ["metadata": ["name": "nope"], "spec": [:]])
            #expect(missing.status == 404)
        }
    }

    @Test func eventsCanBeCreatedPatchedAndListed() async throws {
        try await withSimulatedAPI { api, client in
            let path = "/api/v1/namespaces/default/events"
            let event: KubernetesJSON = [
                "metadata": ["name": "emqx-ee.1"],
                "involvedObject": ["kind": "EMQX", "name": "emqx-ee", "namespace": "default"],
                "reason": "RebalanceCreated", "message": "created", "type": "Normal", "count": 1,
                "source": ["component": "emqx-autorebalancer"],
            ]
            let created = try await client.send("POST", path, event)
            #expect(created.status == 201)
            #expect(created.body["apiVersion"] == "v1" && created.body["kind"] == "Event")
            let patched = try await client.send(
                "PATCH",
                path + "/emqx-ee.1",
                ["count": 2, "lastTimestamp": "2026-11-20T10:23:00Z"],
                contentType: "application/strategic-merge-patch+json"
            )
            #expect(patched.status == 200 && patched.body["count"] == 2)
            let listed = try await client.send("GET", path + "?fieldSelector=involvedObject.name%3Demqx-ee")
            #expect(listed.body["kind"] == "EventList")
            #expect(listed.body["items"]?.arrayValue?.count == 1)
            let none = try await client.send("GET", path + "?fieldSelector=involvedObject.name%3Dother")
            #expect(none.body["items"]?.arrayValue?.count == 0)
            #expect(api.events(namespace: "default").first?.count == 2)
        }
    }

    @Test func emqxObjectsAreReadOnlyAndListable() async throws {
        try await withSimulatedAPI { api, client in
            let resource = EMQXResource(
                metadata: ObjectMeta(name: "emqx", namespace: "default", labels: ["apps.emqx.io/instance": "emqx"]),
                status: .init(conditions: [StatusCondition(type: "Ready", status: "True")])
            )
            try api.putObject(.emqxes, namespace: "default", resource)
            let fetched = try await client.send("GET", "/apis/apps.emqx.io/v2beta1/namespaces/default/emqxes/emqx")
            #expect(fetched.status == 200)
            #expect(try fetched.body.decode(EMQXResource.self).status?.conditions?.isTrue("Ready") == true)
            let list = try await client.send(
                "GET",
                "/apis/apps.emqx.io/v2beta1/namespaces/default/emqxes?labelSelector=apps.emqx.io%2Finstance%3Demqx"
            )
            #expect(list.body["kind"] == "EMQXList" && list.body["items"]?.arrayValue?.count == 1)
            let enterprise = try await client.send(
                "GET",
                "/apis/apps.emqx.io/v1beta4/namespaces/default/emqxenterprises/emqx-ee"
            )
            #expect(enterprise.status == 404)
            #expect(enterprise.body["message"] == #"emqxenterprises.apps.emqx.io "emqx-ee" not found"#)
            let write = try await client.send(
                "POST",
                "/apis/apps.emqx.io/v2beta1/namespaces/default/emqxes",
                ["metadata": ["name": "x"]]
            )
            #expect(write.status == 405)
        }
    }

    @Test func listPagesWithLimitAndContinue() async throws {
        try await withSimulatedAPI { _, client in
            for name in ["p1", "p2", "p3"] {
                _ = try await client.send("POST", Self.rebalancesPath, rebalanceBody(name))
            }
            let first = try await client.send("GET", Self.rebalancesPath + "?limit=2")
            #expect(first.body["items"]?.arrayValue?.count == 2)
            let token = try #require(first.body.value(atPath: "metadata.continue")?.stringValue)
            let second = try await client.send(
                "GET",
                Self.rebalancesPath + "?limit=2&continue=" + token.addingPercentEncoding(
                    withAllowedCharacters: .alphanumerics
                )!
            )
            #expect(
                (second.body["items"]?.arrayValue ?? []).compactMap { $0.value(atPath: "metadata.name")?.stringValue }
                    == ["p3"]
            )
        }
    }

    @Test func generateNameAndTheStatusSubresource() async throws {
        try await withSimulatedAPI { _, client in
            var body = rebalanceBody("ignored")
            body["metadata"]?["name"] = nil
            body["metadata"]?["generateName"] = "emqx-ee-scaleout-"
            body["status"] = ["phase": "Completed"]
            let created = try await client.send("POST", Self.rebalancesPath, body)
            #expect(created.status == 201)
            let name = try #require(created.body.value(atPath: "metadata.name")?.stringValue)
            #expect(name.hasPrefix("emqx-ee-scaleout-") && name.count == "emqx-ee-scaleout-".count + 5)
            // Status is not writable on create (status subresource).
            #expect(created.body["status"] == nil)
            let status = try await client.send("GET", Self.rebalancesPath + "/\(name)/status")
            #expect(status.status == 200 && status.body.value(atPath: "metadata.name")?.stringValue == name)
            var unnamed = rebalanceBody("x")
            unnamed["metadata"]?["name"] = nil
            let missing = try await client.send("POST", Self.rebalancesPath, unnamed)
            #expect(missing.status == 422)
            #expect(
                missing.body["message"]?.stringValue?.contains(
                    "metadata.name: Required value: name or generateName is required"
                ) == true
            )
        }
    }
}
