/// A status condition as both `metav1.Condition` (EMQX v2beta1) and the operator's older shape (v1beta4, Rebalance)
/// serialise it: every field but `type` and `status` is optional.
public struct StatusCondition: Sendable, Hashable, Codable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastTransitionTime: String?
    public var lastUpdateTime: String?
    public var observedGeneration: Int64?

    public init(
        type: String,
        status: String,
        reason: String? = nil,
        message: String? = nil,
        lastTransitionTime: String? = nil,
        lastUpdateTime: String? = nil
    ) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
        self.lastUpdateTime = lastUpdateTime
    }

    public var isTrue: Bool { status == "True" }
}

extension Array where Element == StatusCondition {
    /// The condition of that type, if present.
    public func condition(_ type: String) -> StatusCondition? { first { $0.type == type } }

    /// `true` when the condition is present and `True`; `false` when present otherwise or absent.
    public func isTrue(_ type: String) -> Bool { condition(type)?.isTrue ?? false }
}
