/// The subset of an `apps.emqx.io/v2beta1` `EMQX` (EMQX 5) object the agent reads.
public struct EMQXResource: Sendable, Hashable, Codable {
    public static let apiVersion = "apps.emqx.io/v2beta1"
    public static let kind = "EMQX"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec? = nil, status: Status? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public struct Spec: Sendable, Hashable, Codable {
        public var image: String?
        public var coreTemplate: Template?
        public var replicantTemplate: Template?

        public init(image: String? = nil, coreTemplate: Template? = nil, replicantTemplate: Template? = nil) {
            self.image = image
            self.coreTemplate = coreTemplate
            self.replicantTemplate = replicantTemplate
        }
    }

    public struct Template: Sendable, Hashable, Codable {
        public var spec: TemplateSpec?
        public init(replicas: Int?) { self.spec = TemplateSpec(replicas: replicas) }
    }

    public struct TemplateSpec: Sendable, Hashable, Codable {
        public var replicas: Int?
        public init(replicas: Int?) { self.replicas = replicas }
    }

    public struct Status: Sendable, Hashable, Codable {
        public var conditions: [StatusCondition]?
        public var coreNodes: [Node]?
        public var replicantNodes: [Node]?
        public var coreNodesStatus: NodesStatus?
        public var replicantNodesStatus: NodesStatus?
        public var nodeEvacuationsStatus: [NodeEvacuationStatus]?

        public init(
            conditions: [StatusCondition]? = nil,
            coreNodes: [Node]? = nil,
            replicantNodes: [Node]? = nil,
            coreNodesStatus: NodesStatus? = nil,
            replicantNodesStatus: NodesStatus? = nil,
            nodeEvacuationsStatus: [NodeEvacuationStatus]? = nil
        ) {
            self.conditions = conditions
            self.coreNodes = coreNodes
            self.replicantNodes = replicantNodes
            self.coreNodesStatus = coreNodesStatus
            self.replicantNodesStatus = replicantNodesStatus
            self.nodeEvacuationsStatus = nodeEvacuationsStatus
        }
    }

    /// One entry of `status.coreNodes` / `status.replicantNodes` (from EMQX's `GET /api/v5/nodes`).
    /// Note: `connections` counts **sessions**; `live_connections` counts connected clients (EMQX ≥ 5.1).
    public struct Node: Sendable, Hashable, Codable {
        public var node: String
        public var nodeStatus: String?
        public var otpRelease: String?
        public var version: String?
        public var role: String?
        public var edition: String?
        public var connections: Int?
        public var liveConnections: Int?
        public var podUID: String?
        public var controllerUID: String?

        public init(
            node: String,
            nodeStatus: String? = "running",
            version: String? = nil,
            role: String? = nil,
            edition: String? = "Enterprise",
            connections: Int? = nil,
            liveConnections: Int? = nil,
            podUID: String? = nil,
            controllerUID: String? = nil
        ) {
            self.node = node
            self.nodeStatus = nodeStatus
            self.version = version
            self.role = role
            self.edition = edition
            self.connections = connections
            self.liveConnections = liveConnections
            self.podUID = podUID
            self.controllerUID = controllerUID
        }

        enum CodingKeys: String, CodingKey {
            case node
            case nodeStatus = "node_status"
            case otpRelease = "otp_release"
            case version, role, edition, connections
            case liveConnections = "live_connections"
            case podUID, controllerUID
        }
    }

    /// `coreNodesStatus` / `replicantNodesStatus`. `updatedReplicas` is written by v2 and v3beta1 only (their core
    /// set), `replicas` by v2beta1 only.
    public struct NodesStatus: Sendable, Hashable, Codable {
        public var replicas: Int?
        public var readyReplicas: Int?
        public var updatedReplicas: Int?
        public var currentRevision: String?
        public var currentReplicas: Int?
        public var updateRevision: String?
        public var updateReplicas: Int?
        public var collisionCount: Int?

        public init(
            replicas: Int? = nil,
            readyReplicas: Int? = nil,
            currentRevision: String? = nil,
            currentReplicas: Int? = nil,
            updateRevision: String? = nil,
            updateReplicas: Int? = nil
        ) {
            self.replicas = replicas
            self.readyReplicas = readyReplicas
            self.currentRevision = currentRevision
            self.currentReplicas = currentReplicas
            self.updateRevision = updateRevision
            self.updateReplicas = updateReplicas
        }
    }

    public struct NodeEvacuationStatus: Sendable, Hashable, Codable {
        public var node: String?
        public var state: String?

        public init(node: String? = nil, state: String? = nil) {
            self.node = node
            self.state = state
        }
    }
}

/// The subset of an `apps.emqx.io/v1beta4` `EmqxEnterprise` (EMQX 4.4) object the agent reads.
public struct EmqxEnterpriseResource: Sendable, Hashable, Codable {
    public static let apiVersion = "apps.emqx.io/v1beta4"
    public static let kind = "EmqxEnterprise"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec? = nil, status: Status? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public struct Spec: Sendable, Hashable, Codable {
        public var replicas: Int?
        public init(replicas: Int? = nil) { self.replicas = replicas }
    }

    public struct Status: Sendable, Hashable, Codable {
        public var conditions: [StatusCondition]?
        public var emqxNodes: [Node]?
        public var replicas: Int?
        public var readyReplicas: Int?
        public var currentStatefulSetVersion: String?
        /// Non-null while a blue-green update runs. Kept as an opaque object.
        public var blueGreenUpdateStatus: BlueGreenUpdateStatus?

        public init(
            conditions: [StatusCondition]? = nil,
            emqxNodes: [Node]? = nil,
            replicas: Int? = nil,
            readyReplicas: Int? = nil,
            blueGreenUpdateStatus: BlueGreenUpdateStatus? = nil
        ) {
            self.conditions = conditions
            self.emqxNodes = emqxNodes
            self.replicas = replicas
            self.readyReplicas = readyReplicas
            self.blueGreenUpdateStatus = blueGreenUpdateStatus
        }
    }

    public struct BlueGreenUpdateStatus: Sendable, Hashable, Codable {
        public var originStatefulSet: String?
        public var currentStatefulSet: String?
        public var startedAt: String?

        public init(originStatefulSet: String? = nil, currentStatefulSet: String? = nil, startedAt: String? = nil) {
            self.originStatefulSet = originStatefulSet
            self.currentStatefulSet = currentStatefulSet
            self.startedAt = startedAt
        }
    }

    /// One entry of `status.emqxNodes`. `connections` counts **sessions**; there is no live-connection field.
    public struct Node: Sendable, Hashable, Codable {
        public var node: String
        public var nodeStatus: String?
        public var otpRelease: String?
        public var version: String?
        public var connections: Int?

        public init(node: String, nodeStatus: String? = "Running", version: String? = nil, connections: Int? = nil) {
            self.node = node
            self.nodeStatus = nodeStatus
            self.version = version
            self.connections = connections
        }

        enum CodingKeys: String, CodingKey {
            case node
            case nodeStatus = "node_status"
            case otpRelease = "otp_release"
            case version, connections
        }
    }
}
