/// The subset of a core `v1` `Pod` the agent reads: its name, labels and annotations (the operator's
/// `apps.emqx.io/scaling-down` mark), whether it is being deleted, and its `Ready` condition.
public struct Pod: Sendable, Hashable, Codable {
    public var metadata: ObjectMeta
    public var status: Status?

    public init(metadata: ObjectMeta, status: Status? = nil) {
        self.metadata = metadata
        self.status = status
    }

    public struct Status: Sendable, Hashable, Codable {
        public var phase: String?
        public var podIP: String?
        public var conditions: [StatusCondition]?

        public init(phase: String? = nil, podIP: String? = nil, conditions: [StatusCondition]? = nil) {
            self.phase = phase
            self.podIP = podIP
            self.conditions = conditions
        }
    }

    /// `apps.emqx.io/scaling-down` (`api/v3beta1/const.go`): "marks a pod that the operator has committed to
    /// removing".
    public static let scalingDownAnnotation = "apps.emqx.io/scaling-down"
    /// `apps.emqx.io/instance` (`api/v3beta1/const.go`): the EMQX object the pod belongs to.
    public static let instanceLabel = "apps.emqx.io/instance"

    /// The operator is removing this pod: it carries the scaling-down annotation, or it is terminating.
    public var isBeingRemoved: Bool {
        metadata.annotations?[Self.scalingDownAnnotation] != nil || metadata.deletionTimestamp != nil
    }
}
