/// A core/v1 `Event` (the API the agent writes to, with `involvedObject` naming the EMQX object or Rebalance).
public struct KubernetesEvent: Sendable, Hashable, Codable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Event"
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String?
    public var message: String?
    /// `Normal` or `Warning`.
    public var type: String?
    public var count: Int?
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var source: EventSource?
    public var reportingComponent: String?
    public var reportingInstance: String?
    public var action: String?

    public init(
        metadata: ObjectMeta,
        involvedObject: ObjectReference,
        reason: String,
        message: String,
        type: String,
        count: Int = 1,
        firstTimestamp: String? = nil,
        lastTimestamp: String? = nil,
        source: EventSource? = nil,
        reportingComponent: String? = nil,
        reportingInstance: String? = nil,
        action: String? = nil
    ) {
        self.metadata = metadata
        self.involvedObject = involvedObject
        self.reason = reason
        self.message = message
        self.type = type
        self.count = count
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.source = source
        self.reportingComponent = reportingComponent
        self.reportingInstance = reportingInstance
        self.action = action
    }
}

/// `v1.ObjectReference`.
public struct ObjectReference: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var name: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?

    public init(apiVersion: String?, kind: String?, name: String?, namespace: String?, uid: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.uid = uid
    }
}

public struct EventSource: Sendable, Hashable, Codable {
    public var component: String?
    public var host: String?

    public init(component: String?, host: String? = nil) {
        self.component = component
        self.host = host
    }
}
