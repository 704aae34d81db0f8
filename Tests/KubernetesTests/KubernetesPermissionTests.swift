import AutorebalancerCore
import Foundation
import Logging
import Simulation
import TestSupport
import Testing

@testable import Kubernetes

/// The RBAC permissions the agent declares are exactly those its client uses, and the shipped Roles grant them.
struct KubernetesPermissionTests {
    /// Calls every `KubernetesAPI` method once and maps each request the server saw to (group, resource, verb).
    @Test func declaredPermissionsAreExactlyTheOnesTheClientUses() async throws {
        let server = SimulatedKubernetesAPI(logger: Logger(label: "permission-api"))
        _ = try server.putObject(
            .emqxes,
            namespace: "ns",
            EMQXResource(metadata: ObjectMeta(name: "e", namespace: "ns"))
        )
        _ = try server.putObject(
            .emqxEnterprises,
            namespace: "ns",
            EmqxEnterpriseResource(metadata: ObjectMeta(name: "e", namespace: "ns"))
        )
        // One server for both parts: its request log holds every request the client made.
        let cached: Set<KubernetesPermission> = try await server.withRunning { server in
            try await Self.withClient(server) { api in
                _ = try await api.emqxObject(.v2beta1, namespace: "ns", name: "e")
                _ = try await api.emqxObjects(.v2beta1, namespace: "ns")
                _ = try await api.emqxObject(.v1beta4, namespace: "ns", name: "e")
                _ = try await api.emqxObjects(.v1beta4, namespace: "ns")
                _ = try await api.emqxScale(.v2beta1, namespace: "ns", name: "e")
                _ = try await api.pods(namespace: "ns", labelSelector: "apps.emqx.io/instance=e")
                let spec = RebalanceSpec(
                    instanceKind: .emqx,
                    instanceName: "e",
                    rebalanceStrategy: .init(connEvictRate: 1)
                )
                _ = try await api.createRebalance(
                    Rebalance(metadata: ObjectMeta(name: "r", namespace: "ns"), spec: spec)
                )
                _ = try await api.rebalance(namespace: "ns", name: "r")
                _ = try await api.rebalances(namespace: "ns", labelSelector: "a=b")
                _ = try await api.patchRebalanceMetadata(
                    namespace: "ns",
                    name: "r",
                    labels: [:],
                    annotations: ["a": "b"]
                )
                try await api.deleteRebalance(namespace: "ns", name: "r")
                let lease = try await api.createLease(
                    Lease(metadata: ObjectMeta(name: "l", namespace: "ns"), spec: .init())
                )
                _ = try await api.lease(namespace: "ns", name: "l")
                _ = try await api.updateLease(lease)
                let event = KubernetesEvent(
                    metadata: ObjectMeta(name: "ev", namespace: "ns"),
                    involvedObject: ObjectReference(apiVersion: nil, kind: nil, name: "e", namespace: "ns"),
                    reason: "R",
                    message: "m",
                    type: "Normal"
                )
                let eventV1 = EventsV1Event(
                    metadata: ObjectMeta(name: "ev1", namespace: "ns"),
                    eventTime: "2026-11-20T10:22:00.000000Z",
                    reportingController: "c",
                    reportingInstance: "i",
                    action: "A",
                    reason: "R",
                    regarding: ObjectReference(apiVersion: nil, kind: nil, name: "e", namespace: "ns"),
                    note: "m",
                    type: "Normal"
                )
                _ = try await api.createEventV1(eventV1)
                _ = try await api.patchEventV1Series(
                    namespace: "ns",
                    name: "ev1",
                    series: EventSeries(count: 2, lastObservedTime: "2026-11-20T10:23:00.000000Z")
                )
                _ = try await api.createEvent(event)
                _ = try await api.patchEvent(
                    namespace: "ns",
                    name: "ev",
                    count: 2,
                    lastTimestamp: "2026-11-20T10:22:00Z"
                )
                _ = try await api.servedResources(groupVersion: "apps.emqx.io/v2beta1")
                let record = EMQXRebalance(
                    metadata: ObjectMeta(name: "x", namespace: "ns"),
                    spec: .init(cluster: "e", strategy: .init(connEvictRate: 1))
                )
                _ = try await api.createEMQXRebalance(record)
                _ = try await api.emqxRebalance(namespace: "ns", name: "x")
                _ = try await api.emqxRebalances(namespace: "ns")
                _ = try await api.patchEMQXRebalanceStatus(namespace: "ns", name: "x", status: .init(phase: .running))
                _ = try await api.patchEMQXRebalanceMetadata(
                    namespace: "ns",
                    name: "x",
                    annotations: ["a": "b"],
                    finalizers: []
                )
                try await api.deleteEMQXRebalance(namespace: "ns", name: "x")
                _ = try await api.servedVersions(group: "apps.emqx.io")
                _ = try await api.leases(namespace: "ns")
            }
            // What the cache keeps current by list + watch: every scope the loop's reads start.
            return try await Self.withClient(server) { api in
                let cache = KubernetesCache(client: api, logger: CapturedLogs().logger())
                let cached = CachedKubernetesAPI(live: api, cache: cache)
                _ = try? await cached.emqxObject(.v2beta1, namespace: "ns", name: "e")
                _ = try? await cached.emqxObject(.v1beta4, namespace: "ns", name: "e")
                _ = try? await cached.pods(namespace: "ns", labelSelector: "apps.emqx.io/instance=e")
                _ = try? await cached.rebalances(namespace: "ns", labelSelector: nil)
                _ = try? await cached.emqxRebalances(namespace: "ns")
                #expect(cache.status.count == 5)
                return Set(
                    cache.status.flatMap { status in
                        ["list", "watch"].map {
                            KubernetesPermission(
                                group: status.scope.resource.group,
                                resource: status.scope.resource.plural,
                                verb: $0
                            )
                        }
                    }
                )
            }
        }
        #expect(cached.union(server.permissionsUsed) == KubernetesPermission.required)
    }

    /// Starts the simulated API server, runs `body` with a client of it, and stops the server.
    static func withRunningClient<T: Sendable>(
        _ server: SimulatedKubernetesAPI,
        _ body: @Sendable @escaping (HTTPKubernetesClient) async throws -> T
    ) async throws -> T {
        try await server.withRunning { server in try await withClient(server, body) }
    }

    /// Runs `body` with a client of the running simulated API server.
    static func withClient<T: Sendable>(
        _ server: SimulatedKubernetesAPI,
        _ body: @Sendable (HTTPKubernetesClient) async throws -> T
    ) async throws -> T {
        let client = try HTTPKubernetesClient(
            configuration: .init(
                server: try await server.baseURL().absoluteString,
                namespace: "ns",
                tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken),
                requestTimeout: .seconds(30)
            ),
            logger: CapturedLogs().logger()
        )
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// deploy/rbac-verbs.txt (what the shipped Roles grant) covers every permission the client needs.
    @Test(.enabled(if: Self.rbacVerbs != nil, "deploy/rbac-verbs.txt not found"))
    func shippedRolesGrantEveryRequiredPermission() throws {
        let granted = Set(
            try #require(Self.rbacVerbs).split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map(
                String.init
            )
        )
        let missing = KubernetesPermission.required.map(\.description).filter { !granted.contains($0) }
        #expect(missing.isEmpty, "deploy/rbac-verbs.txt lacks: \(missing.sorted())")
    }

    static let rbacVerbs: String? = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            let file = url.appendingPathComponent("deploy/rbac-verbs.txt")
            if let data = FileManager.default.contents(atPath: file.path) {
                return String(decoding: data, as: UTF8.self)
            }
            url = url.deletingLastPathComponent()
        }
        return nil
    }()
}

extension SimulatedKubernetesAPI {
    /// The RBAC permissions the requests received so far needed (discovery needs none; a subresource is its own
    /// resource, `emqxes/scale`).
    var permissionsUsed: Set<KubernetesPermission> {
        Set(
            requestLog.compactMap { request in
                guard let verb = request.verb, let group = request.group, let resource = request.rbacResource else {
                    return nil
                }
                return KubernetesPermission(group: group, resource: resource, verb: verb)
            }
        )
    }
}
