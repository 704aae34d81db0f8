/// `autoscaling/v1` `Scale`, as the scale subresource of an EMQX object answers it: what an HorizontalPodAutoscaler
/// reads and writes. On 3.0 it maps `spec.replicantTemplate.spec.replicas` / `status.replicantReplicas` /
/// `status.replicantSelector` (`api/v3beta1/emqx_types.go`); on 2.2 and 2.3 its status path names
/// `status.replicantNodeReplicas`, a field those statuses do not have, so `status.replicas` is always 0 there.
public struct Scale: Sendable, Hashable, Codable {
    public var metadata: ObjectMeta?
    public var spec: Spec?
    public var status: Status?

    public init(metadata: ObjectMeta? = nil, spec: Spec? = nil, status: Status? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public struct Spec: Sendable, Hashable, Codable {
        public var replicas: Int?
        public init(replicas: Int? = nil) { self.replicas = replicas }
    }

    public struct Status: Sendable, Hashable, Codable {
        public var replicas: Int?
        public var selector: String?
        public init(replicas: Int? = nil, selector: String? = nil) {
            self.replicas = replicas
            self.selector = selector
        }
    }
}
