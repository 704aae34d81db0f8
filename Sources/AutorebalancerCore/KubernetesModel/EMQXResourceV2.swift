/// The subset of an EMQX Operator 2.3 (`apps.emqx.io/v2`) or 3.0 (`apps.emqx.io/v3beta1`) `EMQX` object the agent
/// reads. Both versions share the node shape (`name`, `podName`, `status`, `version`, `role`, `sessions`,
/// `connections`); 3.0 adds the replica counts and selectors of the scale subresource and the `Paused` condition.
///
/// Field names follow the operator's Go types: `api/v2/emqx_types_status.go` and `api/v3beta1/emqx_types_status.go`
/// (emqx/emqx-operator), `api/v2/emqx_types_spec.go` and `api/v3beta1/emqx_types_spec.go` for the replicas.
/// Which of the two versions an object is comes from the version it was read at (`EMQXObjectVersion`), never from
/// its own `apiVersion` field.
public struct EMQXResourceV2: Sendable, Hashable, Codable {
    public static let kind = "EMQX"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(apiVersion: String, metadata: ObjectMeta, spec: Spec? = nil, status: Status? = nil) {
        self.apiVersion = apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public struct Spec: Sendable, Hashable, Codable {
        public var image: String?
        public var coreTemplate: EMQXResource.Template?
        public var replicantTemplate: EMQXResource.Template?

        public init(
            image: String? = nil,
            coreTemplate: EMQXResource.Template? = nil,
            replicantTemplate: EMQXResource.Template? = nil
        ) {
            self.image = image
            self.coreTemplate = coreTemplate
            self.replicantTemplate = replicantTemplate
        }
    }

    public struct Status: Sendable, Hashable, Codable {
        public var conditions: [StatusCondition]?
        /// 3.0 only: observed core replicas (not `omitempty` there).
        public var coreReplicas: Int?
        public var coreSelector: String?
        /// 3.0 only: observed replicant replicas, the scale subresource's `statusReplicasPath`.
        public var replicantReplicas: Int?
        /// 3.0 only: the replicant pods' label selector, the scale subresource's `selectorPath`.
        public var replicantSelector: String?
        public var coreNodes: [Node]?
        public var coreNodesStatus: NodesStatus?
        public var replicantNodes: [Node]?
        public var replicantNodesStatus: NodesStatus?
        /// Running evacuations (replaces v2beta1's `nodeEvacuationsStatus`).
        public var nodeEvacuations: [NodeEvacuation]?

        public init(
            conditions: [StatusCondition]? = nil,
            coreReplicas: Int? = nil,
            coreSelector: String? = nil,
            replicantReplicas: Int? = nil,
            replicantSelector: String? = nil,
            coreNodes: [Node]? = nil,
            coreNodesStatus: NodesStatus? = nil,
            replicantNodes: [Node]? = nil,
            replicantNodesStatus: NodesStatus? = nil,
            nodeEvacuations: [NodeEvacuation]? = nil
        ) {
            self.conditions = conditions
            self.coreReplicas = coreReplicas
            self.coreSelector = coreSelector
            self.replicantReplicas = replicantReplicas
            self.replicantSelector = replicantSelector
            self.coreNodes = coreNodes
            self.coreNodesStatus = coreNodesStatus
            self.replicantNodes = replicantNodes
            self.replicantNodesStatus = replicantNodesStatus
            self.nodeEvacuations = nodeEvacuations
        }
    }

    /// One entry of `status.coreNodes` / `status.replicantNodes`. Here `connections` counts **connected clients**
    /// ("Number of connected MQTT clients") and `sessions` counts sessions: the opposite of v2beta1's `connections`.
    /// On v2 both counts are `omitempty` (0 is absent); on v3beta1 they are always written.
    public struct Node: Sendable, Hashable, Codable {
        public var name: String
        public var podName: String?
        public var status: String?
        public var otpRelease: String?
        public var version: String?
        public var role: String?
        public var sessions: Int64?
        public var connections: Int64?

        public init(
            name: String,
            podName: String? = nil,
            status: String? = "running",
            version: String? = nil,
            role: String? = nil,
            sessions: Int64? = nil,
            connections: Int64? = nil
        ) {
            self.name = name
            self.podName = podName
            self.status = status
            self.version = version
            self.role = role
            self.sessions = sessions
            self.connections = connections
        }
    }

    /// `coreNodesStatus` (`readyReplicas`, `updatedReplicas`, `currentReplicas`) and `replicantNodesStatus`
    /// (`readyReplicas`, revisions, `currentReplicas`, `updateReplicas`): v2beta1's shape, of which each version writes
    /// its own fields; absent ones stay `nil`.
    public typealias NodesStatus = EMQXResource.NodesStatus

    /// One entry of `status.nodeEvacuations`.
    public struct NodeEvacuation: Sendable, Hashable, Codable {
        public var nodeName: String?
        public var state: String?

        public init(nodeName: String? = nil, state: String? = nil) {
            self.nodeName = nodeName
            self.state = state
        }
    }
}
