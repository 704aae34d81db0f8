import AutorebalancerCore
import Foundation
import Kubernetes

/// The third metric source: per-node counts from the EMQX object's status, which the operator refreshes from EMQX's
/// `/api/v5/nodes` (`/api/v4/nodes`) on every reconcile (about every 30 s while Ready).
///
/// - Operator 2.2 (`v2beta1`): `connections` counts **sessions**, `live_connections` (EMQX ≥ 5.1) connected clients.
///   Operators 2.3 and 3.0 (`v2`, `v3beta1`): `sessions` and `connections` (= connected clients). Either way they are
///   reported as `sessions` and `liveConnections`; `connections` (channels) is never reported by this source.
/// - The operator omits zero counts (`omitempty`): an absent count on a running node of a version that has the field
///   is 0, anywhere else unknown (`StatusCount`); every such reading is a warning, so `run --once` says which.
/// - EmqxEnterprise (4.4) status has no live-connection field: for 4.4 this source serves sessions only
///   (`liveConnections` stays `nil`, see `compatibilityNote`).
/// - The status carries no per-node refresh time. `observedAt` is the newest condition `lastUpdateTime` when the
///   operator writes one (4.4), else the read time minus `assumedRefreshAge` (conservative: counts may be that old).
public struct EMQXStatusSource: MetricSource {
    public let kind = "status"
    public let discovery: OperatorDiscovery
    public let assumedRefreshAge: Duration
    private let now: @Sendable () -> Date

    /// - Parameter discovery: picks the version each cluster's object is read at (shared with the loop).
    public init(
        discovery: OperatorDiscovery,
        assumedRefreshAge: Duration = .seconds(30),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.discovery = discovery
        self.assumedRefreshAge = assumedRefreshAge
        self.now = now
    }

    /// Why this source cannot serve connection rules for a kind, or `nil` when it can.
    public static func compatibilityNote(for kind: InstanceKind) -> String? {
        ClusterReading.statusSourceNote(for: kind)
    }

    public func observe(_ request: ObservationRequest) async throws -> SourceObservation {
        let object = try await discovery.object(of: request.cluster)
        return Self.observation(of: object, readAt: now(), assumedRefreshAge: assumedRefreshAge)
    }

    /// The observation a status read gives (pure).
    public static func observation(
        of object: ClusterObject,
        readAt: Date,
        assumedRefreshAge: Duration
    ) -> SourceObservation {
        let reading = ClusterReading.read(object)
        var warnings: [String] = []
        var observedAt = readAt.addingTimeInterval(-assumedRefreshAge.seconds)
        warnings += reading.countNotes
        switch object {
        case .emqx, .emqxV2, .emqxV3beta1:
            break
        case .emqxEnterprise(let resource):
            warnings.append(compatibilityNote(for: .emqxEnterprise)!)
            let updates = (resource.status?.conditions ?? []).compactMap { KubernetesTime.parse($0.lastUpdateTime) }
            if let newest = updates.max(), newest <= readAt { observedAt = newest }
        }
        if reading.nodes.isEmpty {
            warnings.append("the EMQX object's status lists no nodes yet")
        }
        let nodes = reading.nodes.map { node -> NodeObservation in
            var node = node
            node.observedAt = observedAt
            return node
        }
        return SourceObservation(nodes: nodes, warnings: warnings)
    }
}
