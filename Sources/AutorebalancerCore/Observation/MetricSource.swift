import Foundation

/// A node the agent expects to report, as the EMQX object lists it.
public struct ExpectedNode: Sendable, Hashable, Codable {
    public var name: String
    public var role: NodeRole?
    /// The node's pod, where the EMQX object says (`podName` on operators 2.3 and 3.0).
    public var podName: String?

    public init(name: String, role: NodeRole? = nil, podName: String? = nil) {
        self.name = name
        self.role = role
        self.podName = podName
    }
}

/// What the agent asks a metric source for.
public struct ObservationRequest: Sendable, Hashable {
    public var cluster: ClusterReference
    /// The nodes the EMQX object lists (may be empty when unknown; the source then reports what it finds).
    public var expectedNodes: [ExpectedNode]

    public init(cluster: ClusterReference, expectedNodes: [ExpectedNode] = []) {
        self.cluster = cluster
        self.expectedNodes = expectedNodes
    }
}

/// What a metric source answered. Nodes it could not observe are simply absent (missing, never zero); `warnings`
/// carries anything the user should see (Prometheus warnings, a node that timed out).
public struct SourceObservation: Sendable, Hashable {
    public var nodes: [NodeObservation]
    public var warnings: [String]

    public init(nodes: [NodeObservation], warnings: [String] = []) {
        self.nodes = nodes
        self.warnings = warnings
    }
}

/// One place per-node connection and session counts come from: the Prometheus HTTP API, a direct scrape of the EMQX
/// nodes, or the EMQX custom resource's status. Each observation carries its own time; staleness is the engine's call.
public protocol MetricSource: Sendable {
    /// A short name for logs and metric labels (`prometheus`, `emqx`, `status`).
    var kind: String { get }

    /// Observes one cluster. Throws when the source as a whole failed (unreachable, bad answer); a single node that
    /// could not be observed is left out of the result instead.
    func observe(_ request: ObservationRequest) async throws -> SourceObservation

    /// The longest one `observe` can take, every request and retry included: its own timeouts plus a little. The loop
    /// gives each source of a fallback list this much and sizes the cluster's cycle budget to hold the whole list, so
    /// a hanging first source never uses up the time of the next. `nil`: the loop's default per-source budget.
    var budget: Duration? { get }
}

extension MetricSource {
    public var budget: Duration? { nil }
}
