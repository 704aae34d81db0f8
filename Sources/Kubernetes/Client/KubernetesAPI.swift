import AutorebalancerCore
import Foundation

/// The Kubernetes verbs the agent uses, and nothing else. One live implementation (`HTTPKubernetesClient`); tests and
/// the demo point it at the simulated API server.
///
/// Every method throws `KubernetesError`.
public protocol KubernetesAPI: Sendable {
    // MARK: EMQX objects and their pods (read only)

    /// `GET apps.emqx.io/<version> emqxes/<name>` (`emqxenterprises` for `v1beta4`), decoded in that version's wire
    /// format.
    func emqxObject(_ version: EMQXObjectVersion, namespace: String, name: String) async throws -> ClusterObject
    /// `LIST apps.emqx.io/<version> emqxes` (`emqxenterprises` for `v1beta4`): the objects' metadata.
    func emqxObjects(_ version: EMQXObjectVersion, namespace: String) async throws -> [ObjectMeta]
    /// `GET apps.emqx.io/<version> emqxes/<name>/scale`: the scale subresource an HPA drives.
    func emqxScale(_ version: EMQXObjectVersion, namespace: String, name: String) async throws -> Scale
    /// `LIST v1 pods`, optionally filtered by a label selector.
    func pods(namespace: String, labelSelector: String?) async throws -> [Pod]

    // MARK: Rebalances

    /// `CREATE`. Never retried blindly: after a timeout or 5xx the implementation reads the name back first.
    func createRebalance(_ rebalance: Rebalance) async throws -> Rebalance
    func rebalance(namespace: String, name: String) async throws -> Rebalance
    /// `LIST`, optionally filtered by a label selector (`key=value,key2=value2`).
    func rebalances(namespace: String, labelSelector: String?) async throws -> [Rebalance]
    /// JSON merge patch of `metadata.labels` / `metadata.annotations` only (the spec is immutable). A `nil` value
    /// removes the key.
    func patchRebalanceMetadata(
        namespace: String,
        name: String,
        labels: [String: String?],
        annotations: [String: String?]
    ) async throws -> Rebalance
    func deleteRebalance(namespace: String, name: String) async throws

    // MARK: Leases

    func lease(namespace: String, name: String) async throws -> Lease
    func createLease(_ lease: Lease) async throws -> Lease
    /// `UPDATE` with the lease's `resourceVersion`: `.conflict` when someone else wrote first.
    func updateLease(_ lease: Lease) async throws -> Lease

    // MARK: Events

    /// `CREATE events.k8s.io/v1 events`.
    func createEventV1(_ event: EventsV1Event) async throws -> EventsV1Event
    /// Merge patch of `series` (aggregation of a repeated `events.k8s.io/v1` Event).
    func patchEventV1Series(namespace: String, name: String, series: EventSeries) async throws -> EventsV1Event
    /// `CREATE core/v1 events`, where `events.k8s.io/v1` is not served.
    func createEvent(_ event: KubernetesEvent) async throws -> KubernetesEvent
    /// Merge patch of `count` and `lastTimestamp` (aggregation of a repeated core/v1 Event).
    func patchEvent(namespace: String, name: String, count: Int, lastTimestamp: String) async throws -> KubernetesEvent

    // MARK: Discovery

    /// The plural resource names a group version serves (`GET /apis/<group>/<version>`); `.notFound` when the group
    /// version is not served at all.
    func servedResources(groupVersion: String) async throws -> [String]
    /// The versions an API group serves, preferred first (`GET /apis/<group>`); `.notFound` when the group is not
    /// served at all.
    func servedVersions(group: String) async throws -> [String]
}
