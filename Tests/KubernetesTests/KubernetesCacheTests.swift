import AutorebalancerCore
import Foundation
import Logging
import Simulation
import TestSupport
import Testing

@testable import Kubernetes

/// The watch cache over real HTTP against the simulated API server (which serves watches as the real one does:
/// resourceVersions, bookmarks, 410 Gone after a compaction, RBAC on the watch verb).
struct KubernetesCacheTests {
    static let namespace = "emqx"

    static func rebalance(_ name: String, labels: [String: String]? = nil) -> Rebalance {
        Rebalance(
            metadata: ObjectMeta(name: name, namespace: namespace, labels: labels),
            spec: RebalanceSpec(
                instanceKind: .emqx,
                instanceName: "emqx-ee",
                rebalanceStrategy: .init(connEvictRate: 10)
            )
        )
    }

    struct World: Sendable {
        var api: SimulatedKubernetesAPI
        var client: HTTPKubernetesClient
        var cache: KubernetesCache
        var cached: CachedKubernetesAPI
        var logs: CapturedLogs

        var reflector: Reflector<Rebalance> { cached.rebalanceReflector(namespace) }

        /// Requests of one verb on rebalances so far.
        func requests(_ verb: String) -> Int { api.requestCounts[.init(verb: verb, resource: "rebalances")] ?? 0 }

        func names() async throws -> [String] {
            try await cached.rebalances(namespace: namespace, labelSelector: nil).compactMap(\.metadata.name)
        }
    }

    static func withCache<T: Sendable>(
        pollInterval: Duration = .seconds(30),
        prepare: @Sendable (SimulatedKubernetesAPI) -> Void = { _ in },
        _ body: @Sendable @escaping (World) async throws -> T
    ) async throws -> T {
        let api = SimulatedKubernetesAPI(
            configuration: .init(watchBookmarkInterval: nil),
            logger: Logger(label: "simulated-api")
        )
        prepare(api)
        let logs = CapturedLogs()
        return try await api.withRunning { api in
            let client = try HTTPKubernetesClient(
                configuration: .init(
                    server: try await api.baseURL().absoluteString,
                    namespace: namespace,
                    tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken)
                ),
                logger: logs.logger()
            )
            let cache = KubernetesCache(
                client: client,
                configuration: .init(pollInterval: pollInterval),
                logger: logs.logger()
            )
            let world = World(
                api: api,
                client: client,
                cache: cache,
                cached: CachedKubernetesAPI(live: client, cache: cache),
                logs: logs
            )
            let outcome: Result<T, any Error> = await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await cache.run() }
                let outcome: Result<T, any Error>
                do { outcome = .success(try await body(world)) } catch { outcome = .failure(error) }
                group.cancelAll()
                return outcome
            }
            try? await client.shutdown()
            return try outcome.get()
        }
    }

    /// Waits (generously: the machine may be busy) until `condition` holds.
    static func eventually(_ what: String, _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("never happened: \(what)")
        throw CancellationError()
    }

    @Test func readsAreServedFromMemoryAndFollowEveryChangeWithoutAnotherList() async throws {
        try await Self.withCache { world in
            try world.api.putObject(.rebalances, namespace: Self.namespace, Self.rebalance("r1"))
            #expect(try await world.names() == ["r1"], "the first read is live, and starts the watch")
            try await Self.eventually("the cache is current") { world.reflector.objects() != nil }
            let lists = world.requests("list")

            try world.api.putObject(.rebalances, namespace: Self.namespace, Self.rebalance("r2", labels: ["a": "b"]))
            try await Self.eventually("r2 arrives by the watch") { try await world.names() == ["r1", "r2"] }
            world.api.removeObject(.rebalances, namespace: Self.namespace, name: "r1")
            try await Self.eventually("r1's deletion arrives") { try await world.names() == ["r2"] }
            for _ in 0..<50 { _ = try await world.names() }
            #expect(
                try await world.cached.rebalances(namespace: Self.namespace, labelSelector: "a=b").compactMap(
                    \.metadata.name
                ) == ["r2"]
            )
            #expect(try await world.cached.rebalances(namespace: Self.namespace, labelSelector: "a=c").isEmpty)
            #expect(
                try await world.cached.rebalance(namespace: Self.namespace, name: "r2").metadata.labels == ["a": "b"]
            )

            #expect(world.requests("list") == lists, "every read since the first came from memory")
            #expect(world.requests("get") == 0)
            #expect(world.requests("watch") == 1)
        }
    }

    @Test func theAgentsOwnWriteIsSeenAtOnce() async throws {
        try await Self.withCache { world in
            _ = try await world.names()
            try await Self.eventually("the cache is current") { world.reflector.objects() != nil }
            // Created through the cache: the next read has it, whether or not its watch event came yet.
            _ = try await world.cached.createRebalance(Self.rebalance("mine"))
            #expect(try await world.names() == ["mine"])
            _ = try await world.cached.patchRebalanceMetadata(
                namespace: Self.namespace,
                name: "mine",
                labels: ["x": "y"],
                annotations: [:]
            )
            #expect(try await world.cached.rebalances(namespace: Self.namespace, labelSelector: "x=y").count == 1)
            // An older version (a late watch event) never replaces the newer one.
            #expect(Reflector<Rebalance>.isNewer("12", than: "9"))
            #expect(!Reflector<Rebalance>.isNewer("9", than: "12"))
            #expect(!Reflector<Rebalance>.isNewer("opaque", than: "12"))
        }
    }

    @Test func aBookmarkLetsTheWatchResumeAfterACompactionWithoutListingAgain() async throws {
        try await Self.withCache { world in
            _ = try await world.names()
            try await Self.eventually("the cache is current") { world.reflector.objects() != nil }
            // The list is in before the watch opens; a bookmark sent before that would reach nobody.
            try await Self.eventually("the watch is open") { world.api.openWatches == 1 }
            let lists = world.requests("list")
            // Writes elsewhere move the revision on; only a bookmark tells this watch about them.
            try world.api.putObject(.rebalances, namespace: "elsewhere", Self.rebalance("other"))
            let revision = String(world.api.revision)
            world.api.sendWatchBookmarks()
            try await Self.eventually("the bookmark arrives") { world.reflector.resourceVersion == revision }
            world.api.compactWatchHistory()
            world.api.endWatches()
            try await Self.eventually("the watch is open again") {
                world.api.openWatches == 1 && world.requests("watch") == 2
            }
            try world.api.putObject(.rebalances, namespace: Self.namespace, Self.rebalance("after"))
            try await Self.eventually("the change after the resume arrives") { try await world.names() == ["after"] }
            #expect(world.requests("list") == lists, "resumed from the bookmark: no 410, no list")
        }
    }

    @Test func a410ListsAgainAndCatchesWhatWasMissed() async throws {
        try await Self.withCache { world in
            _ = try await world.names()
            try await Self.eventually("the cache is current") { world.reflector.objects() != nil }
            let lists = world.requests("list")
            // The watch fails for a while (reads go live meanwhile); what happens then is compacted away.
            world.api.injectFault(.internalError, times: nil, verb: "watch")
            world.api.endWatches()
            try await Self.eventually("the failed watch is noticed") { world.reflector.objects() == nil }
            try world.api.putObject(.rebalances, namespace: Self.namespace, Self.rebalance("missed"))
            world.api.compactWatchHistory()
            world.api.clearFaults()
            try await Self.eventually("listed again, with the missed object") {
                world.reflector.objects()?.compactMap(\.metadata.name) == ["missed"]
            }
            #expect(world.requests("list") == lists + 1, "one list after the 410, not one per read")
            #expect(world.logs.contains("410 Gone"))
        }
    }

    @Test func aForbiddenWatchIsPolledAndSaysWhatToGrant() async throws {
        let denyWatch: @Sendable (SimulatedKubernetesAPI) -> Void = { $0.deny(verb: "watch", resource: "rebalances") }
        try await Self.withCache(pollInterval: .milliseconds(200), prepare: denyWatch) { world in
            _ = try await world.names()
            try await Self.eventually("polling") { world.cache.status.first?.mode != .watching }
            #expect(
                world.logs.contains("watching rebalances.apps.emqx.io in namespace emqx is forbidden; listing it every")
            )
            #expect(world.logs.contains("Grant the agent the watch verb"))
            try world.api.putObject(.rebalances, namespace: Self.namespace, Self.rebalance("polled"))
            try await Self.eventually("a poll picks the change up") { world.reflector.objects()?.count == 1 }
            #expect(try await world.names() == ["polled"])
        }
    }

    @Test func anUnreachableServerIsReadLiveNotFromAStaleCache() async throws {
        try await Self.withCache { world in
            _ = try await world.names()
            try await Self.eventually("the cache is current") { world.reflector.objects() != nil }
            world.api.injectFault(.internalError, times: nil, verb: "watch")
            world.api.endWatches()
            try await Self.eventually("the failed watch is noticed") { world.reflector.objects() == nil }
            try world.api.putObject(.rebalances, namespace: Self.namespace, Self.rebalance("while-down"))
            #expect(try await world.names() == ["while-down"], "read live while the watch fails")
            world.api.clearFaults()
            try await Self.eventually("current again") { world.reflector.objects()?.count == 1 }
        }
    }
}
