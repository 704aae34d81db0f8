/// A core/v1 `Event`, with `involvedObject` naming the EMQX object or Rebalance: what the agent writes where
/// `events.k8s.io/v1` is not served (``EventsV1Event``).
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

/// An `events.k8s.io/v1` `Event`, the API controllers write to now (client-go's new recorder, controller-runtime
/// 0.23): `regarding` names the object, `note` is the human text, `action` what was done, `series` counts repeats.
/// The API server validates: `eventTime`, `reportingController`, `reportingInstance`, `action` and `reason` are
/// required; `reportingInstance`, `action` and `reason` at most 128 characters, `note` at most 1024 bytes.
public struct EventsV1Event: Sendable, Hashable, Codable {
    public var apiVersion: String? = "events.k8s.io/v1"
    public var kind: String? = "Event"
    public var metadata: ObjectMeta
    /// MicroTime (`2026-11-20T10:22:00.000000Z`): when the Event was first observed.
    public var eventTime: String
    public var series: EventSeries?
    public var reportingController: String
    public var reportingInstance: String
    public var action: String
    public var reason: String
    public var regarding: ObjectReference
    public var note: String?
    /// `Normal` or `Warning`.
    public var type: String?

    public static let shortLimit = 128
    public static let noteLimit = 1024

    public init(
        metadata: ObjectMeta,
        eventTime: String,
        series: EventSeries? = nil,
        reportingController: String,
        reportingInstance: String,
        action: String,
        reason: String,
        regarding: ObjectReference,
        note: String?,
        type: String?
    ) {
        self.metadata = metadata
        self.eventTime = eventTime
        self.series = series
        self.reportingController = reportingController
        self.reportingInstance = reportingInstance
        self.action = action
        self.reason = reason
        self.regarding = regarding
        self.note = note
        self.type = type
    }
}

/// `events.k8s.io/v1` `EventSeries`: a repeated Event's count (2 or more) and when it was last seen.
public struct EventSeries: Sendable, Hashable, Codable {
    public var count: Int
    /// MicroTime.
    public var lastObservedTime: String

    public init(count: Int, lastObservedTime: String) {
        self.count = count
        self.lastObservedTime = lastObservedTime
    }
}
