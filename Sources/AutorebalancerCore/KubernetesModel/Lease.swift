/// A `coordination.k8s.io/v1` `Lease`.
public struct Lease: Sendable, Hashable, Codable {
    public static let apiVersion = "coordination.k8s.io/v1"
    public static let kind = "Lease"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?

    public init(metadata: ObjectMeta, spec: Spec?) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
    }

    public struct Spec: Sendable, Hashable, Codable {
        public var holderIdentity: String?
        public var leaseDurationSeconds: Int?
        /// MicroTime (`2026-11-20T10:22:00.000000Z`).
        public var acquireTime: String?
        /// MicroTime.
        public var renewTime: String?
        public var leaseTransitions: Int?

        public init(
            holderIdentity: String? = nil,
            leaseDurationSeconds: Int? = nil,
            acquireTime: String? = nil,
            renewTime: String? = nil,
            leaseTransitions: Int? = nil
        ) {
            self.holderIdentity = holderIdentity
            self.leaseDurationSeconds = leaseDurationSeconds
            self.acquireTime = acquireTime
            self.renewTime = renewTime
            self.leaseTransitions = leaseTransitions
        }
    }
}
