import AutorebalancerCore
import Foundation
import Synchronization

/// Learns which `apps.emqx.io` versions and resources the API server serves, keeps the answer, and reads each
/// cluster's EMQX object at the version that answer picks. Discovery runs at start-up, after each reload
/// (`refresh()`), and again whenever a read at the chosen version answers 404: the operator may have been upgraded
/// under a running agent, so the version it served a moment ago can be gone.
public final class OperatorDiscovery: Sendable {
    /// At most this many versions of the group are looked at (a hostile or broken server could list thousands).
    public static let maximumVersions = 16

    public let api: any KubernetesAPI

    private struct State {
        var served: OperatorAPIs?
        /// Bumped by every discovery, so concurrent reads that all met a 404 rediscover once, not once each.
        var generation = 0
    }

    private let state = Mutex(State())

    public init(api: any KubernetesAPI) {
        self.api = api
    }

    /// The last discovery's answer, without asking the API server.
    public var known: OperatorAPIs? { state.withLock { $0.served } }

    /// What the API server serves: the last discovery, or a new one when there is none yet.
    public func served() async throws -> OperatorAPIs {
        if let served = state.withLock({ $0.served }) { return served }
        return try await refresh()
    }

    /// Discovers again and keeps the answer.
    @discardableResult
    public func refresh() async throws -> OperatorAPIs {
        let served = try await Self.discover(api)
        state.withLock {
            $0.served = served
            $0.generation += 1
        }
        return served
    }

    /// `GET /apis/apps.emqx.io`, then `GET /apis/apps.emqx.io/<version>` for each version it lists.
    public static func discover(_ api: any KubernetesAPI) async throws -> OperatorAPIs {
        let versions: [String]
        do {
            versions = try await api.servedVersions(group: OperatorAPIs.group)
        } catch let error as KubernetesError where error.code == .notFound {
            return .none
        }
        var resources: [String: Set<String>] = [:]
        for version in versions.prefix(maximumVersions) {
            do {
                let names = try await api.servedResources(groupVersion: "\(OperatorAPIs.group)/\(version)")
                resources[version] = Set(names.filter { !$0.contains("/") })
            } catch let error as KubernetesError where error.code == .notFound {
                continue  // listed by the group, gone by now: not served
            }
        }
        return OperatorAPIs(resources: resources)
    }

    /// Reads a cluster's EMQX object at the version discovery picks for its kind. A 404 makes it rediscover once:
    /// when the pick changed, the object is read again at the new version; when it did not, the object itself is
    /// missing and the 404 is the answer.
    /// - Throws: `KubernetesError`; `.notFound` with the reason when the kind is not served at all.
    public func object(of cluster: ClusterReference) async throws -> ClusterObject {
        let (served, generation) = try await servedWithGeneration()
        guard let version = served.objectVersion(for: cluster.kind) else {
            throw Self.notServed(cluster, served: served)
        }
        do {
            return try await api.emqxObject(version, namespace: cluster.namespace, name: cluster.name)
        } catch let error as KubernetesError where error.code == .notFound {
            let now = try await rediscover(after: generation)
            guard let newVersion = now.objectVersion(for: cluster.kind) else {
                throw Self.notServed(cluster, served: now)
            }
            guard newVersion != version else { throw error }
            return try await api.emqxObject(newVersion, namespace: cluster.namespace, name: cluster.name)
        }
    }

    /// The EMQX objects of a kind in a namespace whose labels match (a cluster selector), at the version discovery
    /// picks for the kind.
    public func clusters(
        _ kind: InstanceKind,
        namespace: String,
        matchLabels labels: [String: String]
    ) async throws -> [ClusterReference] {
        let served = try await served()
        guard let version = served.objectVersion(for: kind) else {
            throw Self.notServed(ClusterReference(namespace: namespace, name: "*", kind: kind), served: served)
        }
        let metas = try await api.emqxObjects(version, namespace: namespace)
        return metas.filter { meta in labels.allSatisfy { meta.labels?[$0.key] == $0.value } }.compactMap { meta in
            meta.name.map { ClusterReference(namespace: meta.namespace ?? namespace, name: $0, kind: kind) }
        }
    }

    private func servedWithGeneration() async throws -> (OperatorAPIs, Int) {
        if let known = state.withLock({ state in state.served.map { ($0, state.generation) } }) { return known }
        try await refresh()
        return try await servedWithGeneration()
    }

    /// Rediscovers unless another read already did since `generation`.
    private func rediscover(after generation: Int) async throws -> OperatorAPIs {
        if let newer = state.withLock({ state in state.generation > generation ? state.served : nil }) { return newer }
        return try await refresh()
    }

    /// The error for a kind the API server serves at no version the agent reads, worded by `ClusterPlan`.
    public static func notServed(_ cluster: ClusterReference, served: OperatorAPIs) -> KubernetesError {
        let plan = ClusterPlan.make(for: cluster, served: served)
        let resource = KubernetesResource(group: OperatorAPIs.group, version: "", plural: cluster.kind.resource)
        return KubernetesError(
            code: .notFound,
            request: .init(verb: "get", resource: resource, namespace: cluster.namespace, name: cluster.name),
            detail: plan.problem ?? "\(cluster.kind.resource) is not served"
        )
    }
}
